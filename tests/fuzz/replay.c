/* SPDX-License-Identifier: Apache-2.0 */
/* A fuzz target's inputs replayed without libFuzzer, so make check runs the
 * committed corpora with the ordinary compiler. Arguments are input files or
 * directories of them (not descended into); without any, the target's corpus
 * directory REPLAY_CORPUS. It fails when a path cannot be read or when no
 * input ran, so a moved corpus cannot pass unnoticed. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* No corpus file comes near this: make fuzz caps inputs at 20000 bytes. */
#define REPLAY_MAX_INPUT (16L * 1024 * 1024)

/* Runs one input in a buffer of exactly its size, so ASan sees a read past it. */
static int replay_file(const char *path, off_t size)
{
    uint8_t *data;
    FILE *f;
    size_t got;

    if (size > REPLAY_MAX_INPUT) {
        fprintf(stderr, "replay: %s: larger than %ld bytes\n", path, REPLAY_MAX_INPUT);
        return -1;
    }
    data = malloc(size ? (size_t)size : 1);
    f = fopen(path, "rb");
    if (!data || !f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        free(data);
        if (f) {
            fclose(f);
        }
        return -1;
    }
    got = fread(data, 1, (size_t)size, f);
    fclose(f);
    if (got != (size_t)size) {
        fprintf(stderr, "replay: %s: read %zu of %ld bytes\n", path, got, (long)size);
        free(data);
        return -1;
    }
    /* named first, so the last line before a crash says which input it was */
    printf("input %s\n", path);
    fflush(stdout);
    LLVMFuzzerTestOneInput(data, (size_t)size);
    free(data);
    return 0;
}

/* The number of inputs run from `path`, or -1. */
static long replay_path(const char *path)
{
    struct stat st;
    struct dirent *entry;
    DIR *dir;
    long count = 0;

    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        return replay_file(path, st.st_size) == 0 ? 1 : -1;
    }
    dir = opendir(path);
    if (!dir) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    while ((entry = readdir(dir)) != NULL) {
        char file[4096];

        if (snprintf(file, sizeof(file), "%s/%s", path, entry->d_name) >= (int)sizeof(file)
            || stat(file, &st) != 0) {
            fprintf(stderr, "replay: %s/%s: cannot stat\n", path, entry->d_name);
            count = -1;
            break;
        }
        if (!S_ISREG(st.st_mode)) {
            continue;
        }
        if (replay_file(file, st.st_size) != 0) {
            count = -1;
            break;
        }
        count++;
    }
    closedir(dir);
    return count;
}

int main(int argc, char **argv)
{
    char *corpus[] = { REPLAY_CORPUS };
    char **paths = argc > 1 ? argv + 1 : corpus;
    int npaths = argc > 1 ? argc - 1 : 1;
    long total = 0;
    int i;

    LLVMFuzzerInitialize(&argc, &argv);
    for (i = 0; i < npaths; i++) {
        long count = replay_path(paths[i]);

        if (count < 0) {
            return 1;
        }
        total += count;
    }
    printf("replay: %ld inputs ran\n", total);
    return total > 0 ? 0 : 1;
}
