/* utf8.h: UTF-8 decoding by the Unicode standard's well-formed table (Table 3-7),
 * with the "maximal subpart" rule for invalid input that Python's errors="replace"
 * and Rust's from_utf8_lossy follow. Used by the tokenizer and streaming decoder. */
#ifndef GPTC_TEXT_UTF8_H
#define GPTC_TEXT_UTF8_H

#include <stddef.h>

#define GPTC_UTF8_INVALID (-1)    /* s[0, *adv) is one maximal invalid subpart */
#define GPTC_UTF8_INCOMPLETE (-2) /* s[0, n) is a valid start that needs more bytes */

/* Decodes one character at s[0, n) (n >= 1). Returns its code point and sets *adv to
 * its length, or one of the codes above. */
int gptc_utf8_next(const unsigned char *s, size_t n, size_t *adv);
/* Length of the longest prefix of s[0, n) that is valid UTF-8. */
size_t gptc_utf8_valid_len(const unsigned char *s, size_t n);
/* Writes cp (0..0x10FFFF) as UTF-8 into out (4 bytes room); returns the length. */
size_t gptc_utf8_put(unsigned char *out, int cp);

#endif
