/*
 * suggest.c - the nearest name to a mistyped word (Damerau-Levenshtein,
 * optimal string alignment, ASCII case ignored).
 */
#include "suggest.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#define SUGGEST_MAX_DISTANCE 2

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static size_t min3(size_t a, size_t b, size_t c)
{
    size_t m = a < b ? a : b;

    return m < c ? m : c;
}

size_t suggest_distance(const char *a, const char *b)
{
    /* Three rows of the matrix: two back (for a swap), one back, this one. */
    size_t rows[3][SUGGEST_WORD_MAX + 1];
    size_t la = strlen(a), lb = strlen(b);
    size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];

    if (la > SUGGEST_WORD_MAX || lb > SUGGEST_WORD_MAX)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t *t;

        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = lower(a[i - 1]) != lower(b[j - 1]);

            cur[j] = min3(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
            if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
                lower(a[i - 2]) == lower(b[j - 1]) && prev2[j - 2] + 1 < cur[j])
                cur[j] = prev2[j - 2] + 1;
        }
        t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb];
}

const char *suggest_nearest(const char *word, const char *const *names, size_t n)
{
    size_t len = strlen(word), best_d = SIZE_MAX;
    const char *best = NULL;

    for (size_t i = 0; i < n; i++) {
        size_t d;

        if (!names[i])
            continue;
        d = suggest_distance(word, names[i]);
        if (d < best_d) {
            best = names[i];
            best_d = d;
        }
    }
    if (best && best_d <= SUGGEST_MAX_DISTANCE && best_d < len)
        return best;
    if (len < 2)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (names[i] && strncasecmp(word, names[i], len) == 0)
            return names[i];
    return NULL;
}
