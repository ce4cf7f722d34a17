/* test_retrieval.c — unit and integration tests of src/retrieval: term extraction (josa
 * stripping, bigrams, stemming, case folding), the streaming chunker (offsets, boundaries,
 * overlap, piecewise feeding), UTF-8 cleaning, HTML and PDF extraction, and the index (add,
 * unchanged re-add, changed file replaced, rm, abort rollback, skipped files, search fields). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "retrieval/chunk.h"
#include "retrieval/extract.h"
#include "retrieval/terms.h"
#include "test_util.h"

/* ---- terms -------------------------------------------------------------------------------- */
typedef struct termlist { char t[64][64]; int n; } termlist;
static int collect(void *u, const char *term, int len, int s, int e) {
    (void)s; (void)e;
    termlist *l = u;
    if (l->n < 64 && len < 63) {
        /* show the stem marker 0x01 as '^' */
        int o = 0;
        for (int i = 0; i < len; i++) l->t[l->n][o++] = term[i] == 1 ? '^' : term[i];
        l->t[l->n][o] = 0;
        l->n++;
    }
    return 0;
}
static int has(const termlist *l, const char *t) {
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->t[i], t)) return 1;
    return 0;
}
static termlist run_terms(exa_index_terms mode, int query, const char *s) {
    termlist l;
    memset(&l, 0, sizeof l);
    exa_terms *t = exa_terms_new(mode);
    exa_terms_set_query(t, query);
    exa_terms_run(t, s, strlen(s), collect, &l);
    exa_terms_free(t);
    return l;
}

static void test_terms(void) {
    termlist l = run_terms(EXA_TERMS_KOREAN, 0, "서울에서는 대한민국의 수도를");
    CHECK(has(&l, "^서울"), "서울에서는 -> stem 서울");
    CHECK(has(&l, "^대한민국"), "대한민국의 -> stem 대한민국");
    CHECK(has(&l, "대한") && has(&l, "한민") && has(&l, "민국"), "bigrams of the stem");
    CHECK(!has(&l, "국의"), "no bigram across the particle");
    CHECK(has(&l, "^수도"), "수도를 -> 수도");
    l = run_terms(EXA_TERMS_KOREAN, 0, "The Runners were RUNNING quickly");
    CHECK(has(&l, "runner") && has(&l, "run") && has(&l, "quick"), "English: case folding + Snowball stems");
    l = run_terms(EXA_TERMS_KOREAN, 0, "BTS의 1998년에");
    CHECK(has(&l, "bts") && has(&l, "1998") && has(&l, "^년") && !has(&l, "^의"), "particle after Latin dropped; digits kept");
    l = run_terms(EXA_TERMS_KOREAN, 1, "수도는 어디인가?");
    CHECK(has(&l, "^수도") && !has(&l, "^어디") && !has(&l, "어디"), "query side drops interrogatives");
    l = run_terms(EXA_TERMS_WORDS, 0, "서울에서는 Hello, WORLD!");
    CHECK(l.n == 3 && has(&l, "서울에서는") && has(&l, "hello") && has(&l, "world"), "words baseline");
    l = run_terms(EXA_TERMS_BIGRAMS, 0, "서울에서 ABC");
    CHECK(has(&l, "서울") && has(&l, "울에") && has(&l, "에서") && has(&l, "abc"), "bigram baseline");
    /* josa table edge cases: never strips the whole word, 1-syllable particles need 2 syllables left */
    CHECK(exa_josa_suffix("은", 3) == 0, "whole-word particle kept");
    CHECK(exa_josa_suffix("나이", 6) == 0, "나이 is not 나+이");
    CHECK(exa_josa_suffix("마을", 6) == 0, "마을 kept");
    CHECK(exa_josa_suffix("학교에서", 12) == 6, "학교에서 -> 학교");
    /* invalid UTF-8 and huge words do not break extraction */
    char junk[600];
    for (int i = 0; i < 599; i++) junk[i] = (char)(i % 7 == 0 ? 0xFF : 'a' + i % 26);
    junk[599] = 0;
    l = run_terms(EXA_TERMS_KOREAN, 0, junk);
    CHECK(l.n > 0, "terms from text with invalid bytes");
}

/* ---- chunker ------------------------------------------------------------------------------ */
typedef struct chunks { char *text[512]; int64_t start[512], end[512]; int n; } chunks;
static int on_chunk(void *u, const char *t, size_t n, int64_t s, int64_t e) {
    chunks *c = u;
    if (c->n >= 512) return 1;
    c->text[c->n] = strndup(t, n);
    c->start[c->n] = s;
    c->end[c->n] = e;
    c->n++;
    return 0;
}
static void free_chunks(chunks *c) { for (int i = 0; i < c->n; i++) free(c->text[i]); c->n = 0; }

static size_t nchars(const char *s) { size_t k = 0; for (; *s; s++) k += ((unsigned char)*s & 0xC0) != 0x80; return k; }

static void test_chunker(void) {
    /* a Korean + English document with paragraphs and sentences */
    char doc[40000];
    size_t n = 0;
    for (int p = 0; p < 12; p++) {
        for (int s = 0; s < 9; s++)
            n += (size_t)snprintf(doc + n, sizeof doc - n, "%d번째 문단의 %d번째 문장은 한국어로 쓰였습니다. Sentence %d of paragraph %d is English! ",
                                  p, s, s, p);
        n += (size_t)snprintf(doc + n, sizeof doc - n, "\n\n");
    }
    chunks a = {0}, b = {0};
    exa_chunker c;
    exa_chunker_init(&c, 300, 60, on_chunk, &a);
    CHECK(exa_chunker_feed(&c, doc, n) == 0 && exa_chunker_finish(&c) == 0, "feed whole");
    exa_chunker_free(&c);
    exa_chunker_init(&c, 300, 60, on_chunk, &b);
    for (size_t i = 0; i < n; i += 7) exa_chunker_feed(&c, doc + i, n - i < 7 ? n - i : 7);
    exa_chunker_finish(&c);
    exa_chunker_free(&c);
    CHECK(a.n > 5 && a.n == b.n, "same chunks whether fed at once or in 7-byte pieces (%d vs %d)", a.n, b.n);
    int offsets_ok = 1, same = 1, sizes_ok = 1, sentence_ends = 0, overlap = 0;
    for (int i = 0; i < a.n; i++) {
        size_t len = (size_t)(a.end[i] - a.start[i]);
        offsets_ok &= strlen(a.text[i]) == len && !memcmp(doc + a.start[i], a.text[i], len);
        if (i < b.n) same &= !strcmp(a.text[i], b.text[i]) && a.start[i] == b.start[i];
        sizes_ok &= nchars(a.text[i]) <= 300 + 300 / 4 + 1;
        char last = a.text[i][len - 1];
        sentence_ends += last == '.' || last == '!';
        if (i > 0 && a.start[i] < a.end[i - 1]) overlap++;
    }
    CHECK(offsets_ok, "chunk text == document bytes [start, end)");
    CHECK(same, "piecewise feeding gives identical chunks");
    CHECK(sizes_ok, "chunks stay under 1.25 x target characters");
    CHECK(sentence_ends >= a.n - 1, "chunks end at sentence boundaries (%d of %d)", sentence_ends, a.n);
    CHECK(overlap > 0, "chunks cut inside a paragraph overlap");
    free_chunks(&a);
    free_chunks(&b);
    /* a text without any boundary (one huge word) still gets cut, at character boundaries */
    char word[9001];
    for (int i = 0; i < 3000; i++) memcpy(word + 3 * i, "가", 3);
    word[9000] = 0;
    exa_chunker_init(&c, 100, 20, on_chunk, &a);
    exa_chunker_feed(&c, word, 9000);
    exa_chunker_finish(&c);
    exa_chunker_free(&c);
    int ok = a.n >= 20;
    for (int i = 0; i < a.n; i++) ok &= strlen(a.text[i]) % 3 == 0;
    CHECK(ok, "boundary-free text is cut at code points (%d chunks)", a.n);
    free_chunks(&a);
}

static void test_clean(void) {
    char s[] = "ok\xff\xfe\x00x\xed\x95";  /* invalid bytes, NUL, and a cut 3-byte sequence */
    size_t n = sizeof s - 1;
    size_t done = exa_utf8_clean(s, n, 0);
    CHECK(done == n - 2, "incomplete tail kept for the next block (%zu)", done);
    CHECK(!memcmp(s, "ok?? x", 6), "invalid bytes -> '?', NUL -> ' '");
    done = exa_utf8_clean(s, n, 1);
    CHECK(done == n && s[n - 1] == '?', "final block: cut sequence replaced");
}

/* ---- HTML --------------------------------------------------------------------------------- */
typedef struct capture { char text[4096]; size_t n; char title[256]; int pages; } capture;
static int cap_page(void *u, int p) { (void)p; ((capture *)u)->pages++; return 0; }
static int cap_text(void *u, const char *s, size_t n) {
    capture *c = u;
    if (c->n + n < sizeof c->text) { memcpy(c->text + c->n, s, n); c->n += n; c->text[c->n] = 0; }
    return 0;
}
static void cap_title(void *u, const char *s, size_t n) {
    capture *c = u;
    snprintf(c->title, sizeof c->title, "%.*s", (int)n, s);
}

static void test_html(void) {
    const char *html = "<!doctype html><html><head><title> 테스트 &amp; 문서 </title><style>p{color:red}</style>"
                       "<script>var hidden = '<p>no</p>';</script></head><body><h1>제목</h1><p>첫 문단입니다.<br>"
                       "둘째 줄 &lt;tag&gt;</p><table><tr><td>a</td><td>b</td></tr></table><!-- comment --></body></html>";
    capture c;
    memset(&c, 0, sizeof c);
    exa_doc_sink sink = {cap_page, cap_text, cap_title, NULL, &c};
    CHECK(exa_extract_html_mem(html, strlen(html), &sink, NULL, 0) == EXA_OK, "html parses");
    CHECK(!strcmp(c.title, "테스트 & 문서"), "title '%s'", c.title);
    CHECK(strstr(c.text, "제목\n\n첫 문단입니다.\n둘째 줄 <tag>") != NULL, "text with breaks: '%s'", c.text);
    CHECK(!strstr(c.text, "hidden") && !strstr(c.text, "color") && !strstr(c.text, "comment"), "no script/style/comment");
    CHECK(strstr(c.text, "a b") != NULL, "table cells separated");
    /* broken markup does not fail */
    memset(&c, 0, sizeof c);
    const char *bad = "<p>unclosed <b>bold <i>x</p></div></span><<<>>> &bogus; \xff\xfe text";
    CHECK(exa_extract_html_mem(bad, strlen(bad), &sink, NULL, 0) == EXA_OK && strstr(c.text, "unclosed"), "malformed html");
}

/* ---- index -------------------------------------------------------------------------------- */
static char dir[256];
static void write_file(const char *name, const char *content, size_t n) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (n == (size_t)-1) n = strlen(content);
    if (f) { fwrite(content, 1, n, f); fclose(f); }
}

/* A two-page PDF with Helvetica text, offsets computed for the xref table. */
static void write_pdf(const char *name) {
    const char *page_text[2] = {"BT /F1 12 Tf 72 720 Td (Quantum lighthouse keepers page one) Tj ET",
                                "BT /F1 12 Tf 72 720 Td (Second page mentions zebras) Tj ET"};
    char buf[4096], obj[8][512];
    int nobj = 0;
    snprintf(obj[nobj++], 512, "<< /Type /Catalog /Pages 2 0 R >>");
    snprintf(obj[nobj++], 512, "<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>");
    snprintf(obj[nobj++], 512, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R /Resources << /Font << /F1 7 0 R >> >> >>");
    snprintf(obj[nobj++], 512, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 6 0 R /Resources << /Font << /F1 7 0 R >> >> >>");
    snprintf(obj[nobj++], 512, "<< /Length %zu >>\nstream\n%s\nendstream", strlen(page_text[0]), page_text[0]);
    snprintf(obj[nobj++], 512, "<< /Length %zu >>\nstream\n%s\nendstream", strlen(page_text[1]), page_text[1]);
    snprintf(obj[nobj++], 512, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>");
    size_t n = (size_t)snprintf(buf, sizeof buf, "%%PDF-1.4\n");
    size_t off[8];
    for (int i = 0; i < nobj; i++) {
        off[i] = n;
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%d 0 obj\n%s\nendobj\n", i + 1, obj[i]);
    }
    size_t xref = n;
    n += (size_t)snprintf(buf + n, sizeof buf - n, "xref\n0 %d\n0000000000 65535 f \n", nobj + 1);
    for (int i = 0; i < nobj; i++) n += (size_t)snprintf(buf + n, sizeof buf - n, "%010zu 00000 n \n", off[i]);
    n += (size_t)snprintf(buf + n, sizeof buf - n, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%zu\n%%%%EOF\n", nobj + 1, xref);
    write_file(name, buf, n);
}

typedef struct warnings { int n; char last[512]; int loops; } warnings;
static void on_warn(const char *path, const char *why, void *u) {
    warnings *w = u;
    w->n++;
    snprintf(w->last, sizeof w->last, "%s: %s", path, why);
    if (strstr(why, "loop") || strstr(why, "visited")) w->loops++;
}
static int abort_at;
static int on_progress(const exa_index_progress *p, void *u) {
    (void)u;
    return !(abort_at && p->files_done >= abort_at);
}

static int top_path_contains(exa_index *idx, const char *q, const char *needle, int *page) {
    exa_search_result r;
    exa_search_params sp = exa_search_default_params();
    sp.k = 3;
    if (exa_index_search(idx, q, &sp, &r) || r.n == 0) { exa_search_result_free(&r); return 0; }
    int ok = strstr(r.passages[0].path, needle) != NULL;
    if (page) *page = r.passages[0].page;
    exa_search_result_free(&r);
    return ok;
}

static void test_index(void) {
    snprintf(dir, sizeof dir, "/tmp/exa_test_retrieval_%d", (int)getpid());
    mkdir(dir, 0755);
    char sub[300], db[300];
    snprintf(sub, sizeof sub, "%s/docs", dir);
    mkdir(sub, 0755);
    snprintf(db, sizeof db, "%s/index.db", dir);
    write_file("docs/seoul.txt", "서울특별시는 대한민국의 수도이다. 한강이 도시를 가로지른다.\n\n인구는 약 천만 명이다.\n", (size_t)-1);
    write_file("docs/busan.md", "# 부산\n\n부산광역시는 대한민국 제2의 도시이자 최대의 항구 도시이다.\n", (size_t)-1);
    write_file("docs/page.html", "<html><head><title>Foxes</title></head><body><p>The quick brown foxes jumped over lazy dogs.</p></body></html>", (size_t)-1);
    write_file("docs/bin.txt", "\x7f" "ELF\x02\x01\x01\0\0\0\0binary", 16);
    write_file("docs/broken.pdf", "%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage", (size_t)-1);
    write_file("docs/broken.html", "<html><body><p>half a tag <a href=\"", (size_t)-1);
    write_file("docs/ignored.csv", "a,b\n", (size_t)-1);
    write_pdf("docs/two_pages.pdf");
    char link[320];
    snprintf(link, sizeof link, "%s/loop", sub);
    symlink(".", link);                  /* folder symlink loop */
    snprintf(link, sizeof link, "%s/self.txt", sub);
    symlink("self.txt", link);           /* file symlink loop (ELOOP) */
    snprintf(link, sizeof link, "%s/dangling.txt", sub);
    symlink("nowhere.txt", link);
    char unreadable[320];
    snprintf(unreadable, sizeof unreadable, "%s/secret.txt", sub);
    write_file("docs/secret.txt", "secret words", (size_t)-1);
    chmod(unreadable, 0);

    exa_index *idx;
    char err[512];
    CHECK(exa_index_open(db, NULL, &idx, err, sizeof err) == EXA_OK, "open: %s", err);
    if (!idx) return;
    warnings w = {0};
    exa_index_add_params ap = {on_progress, on_warn, &w};
    exa_index_progress st;
    const char *paths[] = {sub};
    exa_status s = exa_index_add(idx, paths, 1, &ap, &st);
    CHECK(s == EXA_OK, "add: %s", exa_index_errmsg(idx));
    CHECK(st.files_added == 5 + (geteuid() == 0), "added %lld files (text, md, html, broken html, pdf%s)", (long long)st.files_added,
          geteuid() == 0 ? ", root reads secret.txt" : "");
    CHECK(w.loops >= 2, "symlink loops reported (%d)", w.loops);
    CHECK(st.files_skipped >= 5, "binary, broken pdf, loops, dangling skipped with warnings (%lld; last: %s)",
          (long long)st.files_skipped, w.last);
    int page = -1;
    CHECK(top_path_contains(idx, "서울의 인구는?", "seoul.txt", NULL), "Korean query finds seoul.txt");
    CHECK(top_path_contains(idx, "부산 항구", "busan.md", NULL), "finds busan.md");
    CHECK(top_path_contains(idx, "fox jumping", "page.html", NULL), "English stemming finds page.html");
    CHECK(top_path_contains(idx, "zebras", "two_pages.pdf", &page) && page == 2, "PDF page 2 (page %d)", page);
    CHECK(top_path_contains(idx, "lighthouse keeper", "two_pages.pdf", &page) && page == 1, "PDF page 1");
    /* search result fields */
    exa_search_result r;
    exa_search_params sp = exa_search_default_params();
    CHECK(exa_index_search(idx, "대한민국 수도", &sp, &r) == EXA_OK && r.n >= 1, "search");
    if (r.n >= 1) {
        CHECK(r.passages[0].score > 0 && r.passages[0].title && r.passages[0].end > r.passages[0].start, "fields set");
        CHECK(!strcmp(r.passages[0].title, "서울특별시는 대한민국의 수도이다. 한강이 도시를 가로지른다."), "title '%s'",
              r.passages[0].title);
        for (int i = 1; i < r.n; i++) CHECK(r.passages[i].score <= r.passages[i - 1].score, "sorted by score");
    }
    exa_search_result_free(&r);
    CHECK(exa_index_search(idx, "?!", &sp, &r) == EXA_OK && r.n == 0, "query without terms: no results");
    CHECK(exa_index_search(idx, "xyzzy12345", &sp, &r) == EXA_OK && r.n == 0, "no match: no results");

    /* re-add: unchanged files cost nothing */
    w.n = 0;
    CHECK(exa_index_add(idx, paths, 1, &ap, &st) == EXA_OK && st.files_added == 0 && st.files_unchanged >= 4,
          "unchanged re-add (%lld added, %lld unchanged)", (long long)st.files_added, (long long)st.files_unchanged);
    /* touch without changing bytes: hash matches, not re-ingested */
    char p[400];
    snprintf(p, sizeof p, "%s/seoul.txt", sub);
    struct timespec ts[2] = {{0, UTIME_NOW}, {12345, 0}};
    utimensat(AT_FDCWD, p, ts, 0);
    CHECK(exa_index_add(idx, paths, 1, &ap, &st) == EXA_OK && st.files_added == 0, "new mtime, same bytes: unchanged");
    /* change a file: replaced */
    write_file("docs/busan.md", "# 부산\n\n해운대 해수욕장은 여름에 붐빈다.\n", (size_t)-1);
    CHECK(exa_index_add(idx, paths, 1, &ap, &st) == EXA_OK && st.files_added == 1, "changed file re-ingested");
    CHECK(top_path_contains(idx, "해운대 해수욕장", "busan.md", NULL), "new content searchable");
    CHECK(!top_path_contains(idx, "항구 도시", "busan.md", NULL), "old content gone");
    /* abort: the file being ingested rolls back */
    write_file("docs/new1.txt", "새로운 문서 하나입니다.", (size_t)-1);
    write_file("docs/new2.txt", "새로운 문서 둘입니다.", (size_t)-1);
    abort_at = 1;
    int64_t before = 0;
    exa_index_stats ist;
    exa_index_get_stats(idx, &ist);
    before = ist.n_docs;
    CHECK(exa_index_add(idx, paths, 1, &ap, &st) == EXA_ERR_ABORTED, "abort from the progress callback");
    abort_at = 0;
    exa_index_get_stats(idx, &ist);
    CHECK(ist.n_docs <= before + 1, "aborted run left at most the files it finished");
    CHECK(exa_index_check(idx, err, sizeof err) == EXA_OK, "consistent after abort: %s", err);
    CHECK(exa_index_add(idx, paths, 1, &ap, &st) == EXA_OK, "re-run completes");
    exa_index_get_stats(idx, &ist);
    CHECK(ist.n_docs == before + 2, "both new files present (%lld docs)", (long long)ist.n_docs);
    /* a deleted file disappears when its folder is added again */
    char gone[400];
    snprintf(gone, sizeof gone, "%s/new2.txt", sub);
    unlink(gone);
    CHECK(exa_index_add(idx, paths, 1, &ap, &st) == EXA_OK && st.files_removed == 1, "deleted file pruned (%lld)",
          (long long)st.files_removed);
    exa_index_get_stats(idx, &ist);
    CHECK(ist.n_docs == before + 1, "one new file left (%lld docs)", (long long)ist.n_docs);
    /* remove a file and a folder */
    int64_t nrm = 0;
    CHECK(exa_index_remove(idx, p, &nrm) == EXA_OK && nrm == 1, "rm file");
    CHECK(!top_path_contains(idx, "서울특별시 한강", "seoul.txt", NULL), "removed file not found");
    /* in-memory documents */
    CHECK(exa_index_add_text(idx, "mem/1", "제목", "메모리 문서의 본문입니다.", strlen("메모리 문서의 본문입니다.")) == EXA_OK, "add_text");
    CHECK(top_path_contains(idx, "메모리 본문", "mem/1", NULL), "add_text searchable");
    CHECK(exa_index_remove(idx, sub, &nrm) == EXA_OK && nrm >= 5, "rm folder (%lld)", (long long)nrm);
    CHECK(exa_index_check(idx, err, sizeof err) == EXA_OK, "check: %s", err);
    exa_index_close(idx);
    /* read-only open of an existing index; a non-index file is refused with a message */
    exa_index_params ro = exa_index_default_params();
    ro.read_only = 1;
    CHECK(exa_index_open(db, &ro, &idx, err, sizeof err) == EXA_OK, "read-only open");
    exa_index_close(idx);
    char notdb[320];
    snprintf(notdb, sizeof notdb, "%s/docs/page.html", dir);
    CHECK(exa_index_open(notdb, NULL, &idx, err, sizeof err) != EXA_OK && idx == NULL && strstr(err, "page.html"),
          "non-database refused: %s", err);
    chmod(unreadable, 0644);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "cleanup failed\n");
}

/* 1,200 chunks: a term in every chunk is ignored next to rarer ones, but a query made only of it
 * still finds passages (fallback to all terms) */
static void test_common_terms(void) {
    char db[128], err[256];
    snprintf(db, sizeof db, "/tmp/exa_test_common_%d.db", (int)getpid());
    exa_index *idx;
    CHECK(exa_index_open(db, NULL, &idx, err, sizeof err) == EXA_OK, "open: %s", err);
    if (!idx) return;
    char name[64], text[128];
    for (int i = 0; i < 1200; i++) {
        snprintf(name, sizeof name, "doc/%d", i);
        snprintf(text, sizeof text, "공통 문장입니다. 고유번호 w%dx 입니다.", i);
        exa_index_add_text(idx, name, NULL, text, strlen(text));
    }
    exa_search_result r;
    exa_search_params sp = exa_search_default_params();
    CHECK(exa_index_search(idx, "공통 문장", &sp, &r) == EXA_OK && r.n == sp.k, "common-only query: %d results", r.n);
    exa_search_result_free(&r);
    CHECK(exa_index_search(idx, "공통 문장 w777x", &sp, &r) == EXA_OK && r.n == 1 && !strcmp(r.passages[0].path, "doc/777"),
          "rare term decides (%d results)", r.n);
    exa_search_result_free(&r);
    exa_index_close(idx);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -f '%s' '%s-wal' '%s-shm'", db, db, db);
    if (system(cmd) != 0) fprintf(stderr, "cleanup failed\n");
}

int main(void) {
    test_terms();
    test_chunker();
    test_clean();
    test_html();
    test_index();
    test_common_terms();
    return TEST_END();
}
