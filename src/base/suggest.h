/*
 * suggest.h - "did you mean ...?": the nearest of a list of names to a word
 * someone mistyped (a command, an option, a configuration key or section, an
 * action, a camera name).
 *
 * The distance is Damerau-Levenshtein's (optimal string alignment: an
 * insertion, a deletion, a substitution or a swap of two neighbouring
 * letters each count one), ignoring ASCII case. Pure functions over the
 * caller's strings: no allocation, no global state, thread-safe.
 */
#ifndef CAMSNAP_SUGGEST_H
#define CAMSNAP_SUGGEST_H

#include <stddef.h>

/* Longest word compared; a longer word or name is never near anything. */
#define SUGGEST_WORD_MAX 64

/* The edit distance between a and b (see above); SIZE_MAX when either is
 * longer than SUGGEST_WORD_MAX. */
size_t suggest_distance(const char *a, const char *b);

/* The name among names[0..n) (NULL entries skipped) nearest to word: the
 * first one at the smallest distance when that distance is at most 2 and
 * smaller than word's length (so that "xy" suggests nothing), else the
 * first name that word (2 letters or more) begins, else NULL. A name equal
 * to word (ignoring case) is returned as is. Returns a borrowed pointer
 * into names. */
const char *suggest_nearest(const char *word, const char *const *names, size_t n);

#endif
