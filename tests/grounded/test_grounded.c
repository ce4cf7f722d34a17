/* test_grounded.c — grounded prompt messages (language, numbering, cutting on UTF-8
 * boundaries) and citation extraction. */
#include <json-c/json.h>
#include <string.h>

#include "exaone.h"
#include "test_util.h"

int main(void) {
    CHECK(exa_text_is_korean("백남준은 언제 태어났나요?") && !exa_text_is_korean("When was tea first drunk?"), "language detection");
    CHECK(exa_text_is_korean("ㅋㅋ") && !exa_text_is_korean("東京"), "jamo counts as Korean, Han does not");
    CHECK(!strcmp(exa_grounded_not_found("질문"), "제공된 문서에서 답을 찾을 수 없습니다."), "Korean not-found sentence");

    exa_passage ps[2] = {
        {.path = "docs/a.txt", .title = "가나다", .text = "한국어 본문입니다. 두 번째 문장.", .page = 0, .score = 3},
        {.path = "docs/b.pdf", .title = "", .text = "English text on page three.", .page = 3, .score = 1},
    };
    struct json_object *m = NULL;
    CHECK(exa_grounded_messages("본문은 무엇인가요?", ps, 2, 7, &m) == EXA_OK && m, "messages built");
    if (m) {
        CHECK(json_object_array_length(m) == 2, "system + user");
        const char *sys = json_object_get_string(json_object_object_get(json_object_array_get_idx(m, 0), "content"));
        const char *usr = json_object_get_string(json_object_object_get(json_object_array_get_idx(m, 1), "content"));
        CHECK(strstr(sys, "[1], [2]") && strstr(sys, "찾을 수 없습니다"), "Korean instructions cite and refuse");
        CHECK(strstr(usr, "[1] 가나다 (docs/a.txt)") && strstr(usr, "[2] docs/b.pdf (docs/b.pdf, p. 3)"), "numbered sources: %s", usr);
        /* 7 bytes cut back to a character boundary: "한국" is 6 bytes */
        CHECK(strstr(usr, "\n한국 …\n") != NULL, "passage cut on a UTF-8 boundary: %s", usr);
        CHECK(strstr(usr, "질문: 본문은 무엇인가요?") != NULL, "question last");
        json_object_put(m);
    }
    CHECK(exa_grounded_messages("What?", ps, 2, 0, &m) == EXA_OK && strstr(json_object_get_string(json_object_object_get(json_object_array_get_idx(m, 0), "content")), "only"), "English instructions");
    json_object_put(m);

    int cited[5];
    CHECK(exa_grounded_citations("A [2] and B [1, 3]. [9] [x] [4][5]", 5, cited) == 5 && cited[0] && cited[1] && cited[2] && cited[3] && cited[4], "citations incl. lists");
    CHECK(exa_grounded_citations("none here [0] [6]", 5, cited) == 0, "out-of-range citations ignored");
    CHECK(exa_grounded_citations("[2] again [2]", 5, cited) == 1 && cited[1], "duplicates counted once");
    return TEST_END();
}
