/* test_retrieval_bigfile.c — a text file larger than the memory we allow ourselves is streamed:
 * a 512 MiB sparse .txt (text at both ends, a hole in between) is hashed and chunked in blocks; the
 * peak resident memory of the whole run stays far below the file size, and the passage at the
 * end is found with its 64-bit byte offset. Labelled nosan (ASan inflates RSS and time). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exaone.h"
#include "test_util.h"

int main(void) {
    char dir[128], txt[200], db[200];
    snprintf(dir, sizeof dir, "/tmp/exa_test_bigfile_%d", (int)getpid());
    mkdir(dir, 0755);
    snprintf(txt, sizeof txt, "%s/big.txt", dir);
    snprintf(db, sizeof db, "%s/index.db", dir);
    const int64_t size = (int64_t)1 << 29;
    const char *head = "첫 문장은 파일의 시작에 있습니다. The opening line talks about alpine meadows.\n\n";
    const char *tail = "\n\n마지막 문장은 파일의 끝에 있습니다. The closing line mentions zanzibar quokkas.\n";
    int fd = open(txt, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    CHECK(fd >= 0, "create %s", txt);
    if (fd < 0) return TEST_END();
    int64_t tail_at = size - (int64_t)strlen(tail);
    /* 16 KiB of real text first (the binary-file probe reads the first 8 KiB; the NUL bytes of
     * the hole after it are cleaned to spaces like any stray NUL) */
    size_t hl = strlen(head), off = 0;
    int wrote = 1;
    for (int i = 0; i < 16384 / (int)hl + 1; i++, off += hl) wrote &= pwrite(fd, head, hl, (off_t)off) == (ssize_t)hl;
    CHECK(wrote, "write head");
    CHECK(pwrite(fd, tail, strlen(tail), tail_at) == (ssize_t)strlen(tail), "write tail");
    close(fd);

    exa_index *idx;
    char err[512];
    CHECK(exa_index_open(db, NULL, &idx, err, sizeof err) == EXA_OK, "open: %s", err);
    if (!idx) return TEST_END();
    const char *paths[] = {txt};
    exa_index_progress st;
    CHECK(exa_index_add(idx, paths, 1, NULL, &st) == EXA_OK, "add: %s", exa_index_errmsg(idx));
    CHECK(st.files_added == 1 && st.chunks_added >= 10 && st.chunks_added < 40, "1 file, head chunks + tail chunk (the hole is whitespace): %lld",
          (long long)st.chunks_added);
    exa_search_result r;
    exa_search_params sp = exa_search_default_params();
    CHECK(exa_index_search(idx, "zanzibar quokka", &sp, &r) == EXA_OK && r.n >= 1, "search");
    if (r.n >= 1) {
        CHECK(r.passages[0].start >= tail_at && r.passages[0].end <= size, "offset near the end: %lld",
              (long long)r.passages[0].start);
        CHECK(strstr(r.passages[0].text, "quokkas") != NULL, "tail text");
    }
    exa_search_result_free(&r);
    exa_index_close(idx);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long rss_mb = ru.ru_maxrss / 1024;
    CHECK(rss_mb < 100, "peak RSS %ld MiB for a 512 MiB file", rss_mb);
    printf("peak RSS %ld MiB while indexing a 512 MiB file\n", rss_mb);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "cleanup failed\n");
    return TEST_END();
}
