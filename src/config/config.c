/*
 * config.c - the INI parser glue, the loading and the validation of the
 * camsnap configuration.
 *
 * Everything about a key lives in one row of the key table (config_keys.c):
 * defaults are parsed by the same config__parse_value() as file values, and
 * config_print_effective(), config_print_reference() and
 * config_print_sample() (config_print.c) walk the same table.
 *
 * inih splits lines into key and value; our reader feeds it the text and
 * counts lines itself, and it also reads [section] headers (inih truncates
 * them and does not report them), so every message names FILE:LINE.
 */
#include "config_priv.h"
#include "log.h"
#include "suggest.h"
#include "url.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIG_LINE_MAX 65536         /* inih buffer: line + "\r\n" + NUL */
#define CONFIG_FILE_MAX (1024 * 1024) /* a config file larger than this is a mistake */
#define VAR_NAME_MAX 128
#define LABEL_MAX (SHOWN_MAX + 16)

/* Indexed by enum section. */
static const char *const section_names[] = {"general", "upload", "alert", "camera"};

enum sec_state { ST_NONE, ST_OK, ST_IGNORED };

/* A message for errs, kept until the end so that they come out in the
 * order of the file's lines (cross-key checks run after the parsing). */
struct message {
    int line; /* 0: about the whole file (first) */
    size_t seq;
    char *text;
};

/* A key whose value was refused: what depends on it is not reported again. */
struct rejected_key {
    enum section sec;
    size_t cam;
    const struct key_def *key;
};

struct parser {
    const char *name; /* file name for messages */
    FILE *errs;
    struct config *cfg;
    size_t cap_cameras, cap_origins;
    int n_errors;
    bool nomem;
    /* the reader */
    const char *text;
    size_t len, pos;
    int lineno; /* line being handed to inih */
    int next_line;
    bool at_bol;
    int first_syntax_line; /* first line we reported as malformed */
    int skip_line;         /* a line too long to parse */
    /* the current section */
    enum sec_state st;
    enum section sec;
    size_t cam;
    char label[LABEL_MAX]; /* "upload", "camera 27" */
    /* the first secret written in clear */
    int clear_line;
    char clear_what[LABEL_MAX + 32];
    const char *clear_fix;
    /* messages, written out by flush_messages() */
    struct message *msgs;
    size_t n_msgs, cap_msgs;
    struct rejected_key *rejected;
    size_t n_rejected, cap_rejected;
};

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

bool config__is_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Like config__shown(), but hides the user:password@ part of a URL. */
static const char *shown_url(const char *url, char *buf, size_t sz)
{
    struct url_parts u;
    char tmp[SHOWN_MAX];

    url_split(url, &u);
    if (!u.userinfo)
        return config__shown(url, buf, sz);
    config__shown(u.userinfo + u.userinfo_len + 1, tmp, sizeof(tmp));
    config__bprintf(buf, sz, "%.*s***@%s",
                    (int)(u.userinfo - url > 20 ? 20 : u.userinfo - url), url, tmp);
    return buf;
}

/* Keeps one message line (without its newline) for flush_messages(). */
static void keep_message(struct parser *p, int line, const char *text)
{
    struct message *m;

    if (p->n_msgs == p->cap_msgs) {
        size_t cap = p->cap_msgs ? 2 * p->cap_msgs : 16;
        struct message *n = realloc(p->msgs, cap * sizeof(*n));

        if (!n) {
            p->nomem = true;
            return;
        }
        p->msgs = n;
        p->cap_msgs = cap;
    }
    m = &p->msgs[p->n_msgs];
    if (!(m->text = strdup(text))) {
        p->nomem = true;
        return;
    }
    m->line = line;
    m->seq = p->n_msgs++;
}

static int message_order(const void *a, const void *b)
{
    const struct message *x = a, *y = b;

    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Writes the messages to errs by line (in the order found within a line). */
static void flush_messages(struct parser *p)
{
    if (p->n_msgs) /* qsort(NULL, 0, ...) is undefined */
        qsort(p->msgs, p->n_msgs, sizeof(*p->msgs), message_order);
    for (size_t i = 0; i < p->n_msgs; i++) {
        if (p->errs)
            fprintf(p->errs, "%s\n", p->msgs[i].text);
        free(p->msgs[i].text);
    }
    free(p->msgs);
    free(p->rejected);
    p->msgs = NULL;
    p->rejected = NULL;
    p->n_msgs = p->cap_msgs = p->n_rejected = p->cap_rejected = 0;
}

/* "FILE:LINE: " + what + fmt; an error unless it is a note or a warning. */
static void PRINTF_LIKE(5, 0) vmessage(struct parser *p, bool error, int line, const char *what,
                                       const char *fmt, va_list ap)
{
    char text[2048], body[1536];

    p->n_errors += error;
    if (!p->errs)
        return;
    vsnprintf(body, sizeof(body), fmt, ap);
    if (line > 0)
        config__bprintf(text, sizeof(text), "%s:%d: %s%s", p->name, line, what, body);
    else
        config__bprintf(text, sizeof(text), "%s: %s%s", p->name, what, body);
    keep_message(p, line, text);
}

static void PRINTF_LIKE(5, 0) vreport(struct parser *p, int line, const char *label,
                                       const char *key, const char *fmt, va_list ap)
{
    char what[2 * LABEL_MAX + 8] = "";

    if (label && key)
        config__bprintf(what, sizeof(what), "[%s] %s: ", label, key);
    else if (label)
        config__bprintf(what, sizeof(what), "[%s]: ", label);
    else if (key)
        config__bprintf(what, sizeof(what), "%s: ", key);
    vmessage(p, true, line, what, fmt, ap);
}

/* A note or a warning: said in its place, not an error. */
static void PRINTF_LIKE(3, 4) remark(struct parser *p, int line, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vmessage(p, false, line, "", fmt, ap);
    va_end(ap);
}

/* Remembers that the value of k (of the current section) was refused. */
static void reject(struct parser *p, const struct key_def *k)
{
    if (p->n_rejected == p->cap_rejected) {
        size_t cap = p->cap_rejected ? 2 * p->cap_rejected : 8;
        struct rejected_key *n = realloc(p->rejected, cap * sizeof(*n));

        if (!n) {
            p->nomem = true;
            return;
        }
        p->rejected = n;
        p->cap_rejected = cap;
    }
    p->rejected[p->n_rejected++] = (struct rejected_key){p->sec, p->cam, k};
}

/* True when one of the keys named (a NULL-terminated list) of section sec
 * (camera cam) was given a value that was refused: a check that depends on
 * it would only repeat that error. */
static bool any_rejected(const struct parser *p, enum section sec, size_t cam, ...)
{
    const char *name;
    bool found = false;
    va_list ap;

    va_start(ap, cam);
    while (!found && (name = va_arg(ap, const char *))) {
        for (size_t i = 0; i < p->n_rejected && !found; i++) {
            const struct rejected_key *r = &p->rejected[i];
            found = r->sec == sec && (sec != SEC_CAMERA || r->cam == cam) &&
                    !strcmp(r->key->name, name);
        }
    }
    va_end(ap);
    return found;
}

static void PRINTF_LIKE(5, 6)
    report(struct parser *p, int line, const char *label, const char *key, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(p, line, label, key, fmt, ap);
    va_end(ap);
}

void config__report(struct parser *p, int line, const char *label, const char *key,
                    const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(p, line, label, key, fmt, ap);
    va_end(ap);
}

static void *section_base(struct config *cfg, enum section sec, size_t cam)
{
    if (sec == SEC_GENERAL)
        return &cfg->general;
    if (sec == SEC_UPLOAD)
        return &cfg->upload;
    if (sec == SEC_ALERT)
        return &cfg->alert;
    return &cfg->cameras[cam];
}

static void apply_defaults(struct parser *p, enum section sec, void *base)
{
    char why[512];

    for (size_t i = 0; i < config__n_keys; i++) {
        enum cs_err rc;

        if (config__keys[i].sec != sec || !config__keys[i].def)
            continue;
        rc = config__parse_value(&config__keys[i], config__keys[i].def, base, why, sizeof(why));
        if (rc == CS_NOMEM)
            p->nomem = true;
        else if (rc)
            report(p, 0, section_names[sec], config__keys[i].name, "bad built-in default: %s", why);
    }
}

/* ---- origins ---------------------------------------------------------- */

struct config_origin *config__find_origin(const struct config *cfg, enum section sec, size_t cam,
                                          const struct key_def *k)
{
    for (size_t i = 0; i < cfg->n_origins; i++) {
        struct config_origin *o = &cfg->origins[i];

        if (o->sec == sec && o->key == k && (sec != SEC_CAMERA || o->cam == cam))
            return o;
    }
    return NULL;
}

static struct config_origin *origin_by_name(const struct config *cfg, enum section sec, size_t cam,
                                            const char *name)
{
    return config__find_origin(cfg, sec, cam, config__find_key(sec, name));
}

static struct config_origin *add_origin(struct parser *p, enum section sec, size_t cam,
                                        const struct key_def *k, int lineno)
{
    struct config *cfg = p->cfg;
    struct config_origin *o;

    if (cfg->n_origins == p->cap_origins) {
        size_t cap = p->cap_origins ? 2 * p->cap_origins : 32;
        struct config_origin *n = realloc(cfg->origins, cap * sizeof(*n));

        if (!n) {
            p->nomem = true;
            return NULL;
        }
        cfg->origins = n;
        p->cap_origins = cap;
    }
    o = &cfg->origins[cfg->n_origins++];
    *o = (struct config_origin){.sec = sec, .cam = cam, .key = k, .lineno = lineno};
    return o;
}

static int line_of(const struct config_origin *o, int fallback)
{
    return o && o->lineno > 0 ? o->lineno : fallback;
}

int config__line_of(const struct config *cfg, enum section sec, const char *name)
{
    return line_of(origin_by_name(cfg, sec, 0, name), 0);
}

static void note_clear_secret(struct parser *p, int line, const char *what, const char *fix)
{
    if (p->clear_line)
        return;
    p->clear_line = line;
    p->clear_fix = fix;
    config__bprintf(p->clear_what, sizeof(p->clear_what), "%s", what);
}

/* ---- ${VAR} expansion ------------------------------------------------- */

/* A growing string whose old copies are zeroed: it may hold secrets. */
struct sbuf {
    char *s;
    size_t len, cap;
    bool nomem;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->nomem)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        char *ns;

        while (cap < b->len + n + 1)
            cap *= 2;
        ns = malloc(cap);
        if (!ns) {
            b->nomem = true;
            return;
        }
        if (b->s) {
            memcpy(ns, b->s, b->len);
            explicit_bzero(b->s, b->cap);
            free(b->s);
        }
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_wipe(struct sbuf *b)
{
    if (b->s)
        explicit_bzero(b->s, b->cap);
    free(b->s);
    *b = (struct sbuf){0};
}

struct expansion {
    bool literal;           /* some text did not come from a variable */
    char var[VAR_NAME_MAX]; /* first variable expanded, "" if none */
};

static bool valid_var_name(const char *s, size_t n)
{
    if (n == 0 || n >= VAR_NAME_MAX || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!config__is_alnum(s[i]) && s[i] != '_')
            return false;
    return true;
}

/* Expands one "${NAME}" at s (s[0] == '$', s[1] == '{'); returns the text after
 * it, or NULL when the reference is malformed (reported). */
static const char *expand_var(struct parser *p, const struct key_def *k, const char *s,
                              struct sbuf *b, struct expansion *ex, bool *failed)
{
    const char *close = strchr(s + 2, '}');
    char name[VAR_NAME_MAX], q[SHOWN_MAX];
    const char *v;
    size_t n;

    if (!close) {
        report(p, p->lineno, p->label, k->name,
               "unterminated \"${\"; expected ${NAME} "
               "(write $$ for a literal '$')");
        return NULL;
    }
    n = (size_t)(close - (s + 2));
    if (!valid_var_name(s + 2, n)) {
        config__bprintf(name, sizeof(name), "%.*s", (int)(n < 60 ? n : 60), s + 2);
        if (k->type == KT_SECRET || (k->sec == SEC_CAMERA && strcmp(k->name, "url") == 0))
            config__bprintf(name, sizeof(name), "...");
        report(p, p->lineno, p->label, k->name,
               "\"${%s}\" is not a variable reference; "
               "expected ${NAME} with letters, digits and '_'",
               config__shown(name, q, sizeof(q)));
        return NULL;
    }
    memcpy(name, s + 2, n);
    name[n] = '\0';
    v = getenv(name);
    if (!v) {
        report(p, p->lineno, p->label, k->name,
               "environment variable %s is not set; "
               "expected it in camsnap's environment (write $$ for a literal '$')",
               name);
        *failed = true;
    } else {
        sb_add(b, v, strlen(v));
    }
    if (!ex->var[0])
        memcpy(ex->var, name, n + 1);
    return close + 1;
}

/* Expands ${NAME} and $$ in raw into a new string (*out, zero then free it). */
static enum cs_err expand(struct parser *p, const struct key_def *k, const char *raw, char **out,
                          struct expansion *ex)
{
    struct sbuf b = {0};
    bool failed = false;
    const char *s = raw;

    *ex = (struct expansion){.literal = false};
    sb_add(&b, "", 0);
    while (s && *s) {
        if (s[0] == '$' && s[1] == '$') {
            sb_add(&b, "$", 1);
            ex->literal = true;
            s += 2;
        } else if (s[0] == '$' && s[1] == '{') {
            s = expand_var(p, k, s, &b, ex, &failed);
            failed |= s == NULL;
        } else {
            sb_add(&b, s++, 1);
            ex->literal = true;
        }
    }
    if (b.nomem || failed) {
        enum cs_err rc = b.nomem ? CS_NOMEM : CS_CONFIG;

        p->nomem |= b.nomem;
        sb_wipe(&b);
        return rc;
    }
    *out = b.s;
    return CS_OK;
}

/* ---- keys from the file ----------------------------------------------- */

/* True when the query of a raw url holds a secret parameter (pwd=,
 * password=, token=, ...; cameras that take credentials in the snapshot
 * URL) whose value is not only ${...} references. */
static bool query_has_clear_secret(const char *raw)
{
    const char *q = strchr(raw, '?');

    for (const char *p = q ? q + 1 : NULL; p && *p;) {
        size_t n = strcspn(p, "&#");
        const char *eq = memchr(p, '=', n);
        if (eq && log_is_secret_param(p, (size_t)(eq - p)) && (size_t)(eq - p) + 1 < n &&
            !(eq[1] == '$' && eq[2] == '{' && p[n - 1] == '}'))
            return true;
        p = p[n] == '&' ? p + n + 1 : NULL;
    }
    return false;
}

/* True when a raw (unexpanded) url writes a password in clear: "user:pw@host"
 * rather than "user:${PW}@host" or "${CREDENTIALS}@host", or a secret query
 * parameter (query_has_clear_secret). */
static bool url_has_clear_password(const char *raw)
{
    struct url_parts u;
    const char *auth, *at, *s;

    if (query_has_clear_secret(raw))
        return true;
    url_split(raw, &u);
    if (!u.userinfo)
        return false;
    auth = u.userinfo;
    at = u.userinfo + u.userinfo_len;
    s = memchr(auth, ':', (size_t)(at - auth));
    for (s = s ? s + 1 : auth; s < at;) {
        const char *close = memchr(s, '}', (size_t)(at - s));

        if (s[0] != '$' || s + 1 >= at || s[1] != '{' || !close)
            return true;
        s = close + 1;
    }
    return false;
}

static void record_origin(struct parser *p, const struct key_def *k, const char *raw,
                          const char *val, const struct expansion *ex)
{
    struct config_origin *o = add_origin(p, p->sec, p->cam, k, p->lineno);

    if (!o)
        return;
    o->env_only = ex->var[0] && !ex->literal;
    o->url_pw = k->sec == SEC_CAMERA && strcmp(k->name, "url") == 0 && url_has_clear_password(raw);
    if (o->url_pw && query_has_clear_secret(raw)) {
        char what[sizeof(p->clear_what)];
        config__bprintf(what, sizeof(what), "[%s] url (a password in its query)", p->label);
        note_clear_secret(p, p->lineno, what, "pwd=${CAM_PASSWORD} in the url");
    }
    if (ex->var[0] && !(o->var = strdup(ex->var)))
        p->nomem = true;
    if (k->type == KT_SECRET_FILE && !(o->file = strdup(val)))
        p->nomem = true;
    if (k->type == KT_SECRET && ex->literal) {
        char what[sizeof(p->clear_what)];
        const struct key_def *fk = config__file_key_for(k);

        config__bprintf(what, sizeof(what), "[%s] %s", p->label, k->name);
        note_clear_secret(p, p->lineno, what, fk ? fk->name : "a *_file key");
    }
}

static void set_from_file(struct parser *p, const struct key_def *k, const char *raw)
{
    const struct config_origin *prev = config__find_origin(p->cfg, p->sec, p->cam, k);
    struct expansion ex;
    char why[1024];
    char *val = NULL;
    enum cs_err rc;

    if (prev) {
        report(p, p->lineno, p->label, k->name,
               "set twice in one section; the first value is "
               "at line %d; expected one of them",
               prev->lineno);
        return;
    }
    if (expand(p, k, raw, &val, &ex)) {
        reject(p, k);
        return;
    }
    rc = config__parse_value(k, val, section_base(p->cfg, p->sec, p->cam), why, sizeof(why));
    if (rc == CS_NOMEM) {
        p->nomem = true;
    } else if (rc) {
        report(p, p->lineno, p->label, k->name, "%s", why);
        reject(p, k);
    } else
        record_origin(p, k, raw, val, &ex);
    config__free_str(val);
}

static void unknown_key(struct parser *p, const char *name)
{
    const char *names[CONFIG__KEYS_MAX];
    const char *other = NULL, *hint;
    char list[512], q[SHOWN_MAX];
    size_t n = 0, off = 0;

    for (size_t i = 0; i < config__n_keys; i++) {
        if (config__keys[i].sec == p->sec)
            names[n++] = config__keys[i].name;
        else if (!other && strcmp(config__keys[i].name, name) == 0)
            other = section_names[config__keys[i].sec];
    }
    config__shown(name, q, sizeof(q));
    hint = suggest_nearest(name, names, n);
    if (hint) {
        report(p, p->lineno, p->label, q, "unknown key; did you mean '%s'?", hint);
        return;
    }
    if (other) {
        report(p, p->lineno, p->label, q, "unknown key here; it belongs in [%s%s]", other,
               strcmp(other, "camera") == 0 ? " NAME" : "");
        return;
    }
    list[0] = '\0';
    for (size_t i = 0; i < n && off < sizeof(list); i++) {
        int w = snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "", names[i]);

        off += w > 0 ? (size_t)w : 0;
    }
    report(p, p->lineno, p->label, q, "unknown key; expected one of: %s", list);
}

static const struct key_def *lookup_key(struct parser *p, const char *name)
{
    const struct key_def *k = config__find_key(p->sec, name);

    if (k)
        return k;
    for (size_t i = 0; i < config__n_aliases; i++) {
        const struct key_alias *a = &config__aliases[i];

        if (a->sec == p->sec && strcmp(a->from, name) == 0) {
            remark(p, p->lineno, "note: '%s' is now called '%s'", a->from, a->to);
            return config__find_key(p->sec, a->to);
        }
    }
    unknown_key(p, name);
    return NULL;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
    struct parser *p = user;
    const struct key_def *k;
    char q[SHOWN_MAX];

    (void)section; /* inih cuts long section names; ours come from scan_line() */
    if (p->lineno == p->skip_line || p->st == ST_IGNORED)
        return 1;
    if (p->st == ST_NONE) {
        report(p, p->lineno, NULL, config__shown(name, q, sizeof(q)),
               "set before any section; "
               "expected it under [general], [upload], [alert] or [camera NAME]");
        return 1;
    }
    k = lookup_key(p, name);
    if (k && value)
        set_from_file(p, k, value);
    return 1; /* errors are ours to report, with their line */
}

/* ---- sections --------------------------------------------------------- */

static void begin_camera(struct parser *p, const char *b, const char *e)
{
    struct config *cfg = p->cfg;
    struct camera_config *cam;
    const char *why;
    char *name = strndup(b, (size_t)(e - b));

    if (!name) {
        p->nomem = true;
        return;
    }
    if (config_validate_name(name, &why)) {
        report(p, p->lineno, p->label, NULL,
               "camera name %s; expected 1 to %d letters, "
               "digits, '.', '_' or '-', not starting with '.'",
               why, CONFIG_NAME_MAX);
        goto out_free;
    }
    for (size_t i = 0; i < cfg->n_cameras; i++) {
        if (strcmp(cfg->cameras[i].name, name) == 0) {
            report(p, p->lineno, p->label, NULL,
                   "duplicate section; camera \"%s\" is already "
                   "defined at line %d",
                   name, cfg->cameras[i].lineno);
            goto out_free;
        }
    }
    if (cfg->n_cameras == p->cap_cameras) {
        size_t cap = p->cap_cameras ? 2 * p->cap_cameras : 8;
        struct camera_config *n = realloc(cfg->cameras, cap * sizeof(*n));

        if (!n) {
            p->nomem = true;
            goto out_free;
        }
        cfg->cameras = n;
        p->cap_cameras = cap;
    }
    cam = &cfg->cameras[cfg->n_cameras];
    *cam = (struct camera_config){.name = name, .lineno = p->lineno};
    p->cam = cfg->n_cameras++;
    p->sec = SEC_CAMERA;
    p->st = ST_OK;
    apply_defaults(p, SEC_CAMERA, cam);
    return;
out_free:
    free(name);
}

static void unknown_section(struct parser *p, const char *word, const char *rest)
{
    const char *hint = suggest_nearest(word, section_names, sizeof(section_names) / sizeof(section_names[0]));

    if (hint && strcmp(hint, "camera") == 0)
        report(p, p->lineno, p->label, NULL,
               "unknown section; did you mean '[camera %s]'? "
               "expected [general], [upload], [alert] or [camera NAME]",
               *rest ? rest : "NAME");
    else if (hint)
        report(p, p->lineno, p->label, NULL,
               "unknown section; did you mean '[%s]'? "
               "expected [general], [upload], [alert] or [camera NAME]",
               hint);
    else
        report(p, p->lineno, p->label, NULL,
               "unknown section; expected [general], [upload], "
               "[alert] or [camera NAME]");
}

/* Handles "[...]"; [b, e) is the text between the brackets. */
static void begin_section(struct parser *p, const char *b, const char *e)
{
    char word[LABEL_MAX], rest[LABEL_MAX], raw[LABEL_MAX];
    const char *w, *r;

    while (b < e && is_space(*b))
        b++;
    while (e > b && is_space(e[-1]))
        e--;
    for (w = b; w < e && !is_space(*w); w++)
        ;
    for (r = w; r < e && is_space(*r); r++)
        ;
    config__bprintf(raw, sizeof(raw), "%.*s", (int)(e - b < LABEL_MAX ? e - b : LABEL_MAX - 1), b);
    config__shown(raw, p->label, sizeof(p->label));
    config__bprintf(word, sizeof(word), "%.*s", (int)(w - b < LABEL_MAX ? w - b : LABEL_MAX - 1),
                    b);
    config__bprintf(rest, sizeof(rest), "%.*s", (int)(e - r < LABEL_MAX ? e - r : LABEL_MAX - 1),
                    r);
    p->st = ST_IGNORED;
    if (strcmp(word, "general") == 0 || strcmp(word, "upload") == 0 ||
        strcmp(word, "alert") == 0) {
        if (r != e) {
            report(p, p->lineno, p->label, NULL, "[%s] takes no name; expected [%s]", word, word);
            return;
        }
        p->sec = word[0] == 'g' ? SEC_GENERAL : word[0] == 'u' ? SEC_UPLOAD : SEC_ALERT;
        p->cam = 0;
        p->st = ST_OK;
    } else if (strcmp(word, "camera") == 0) {
        if (r == e)
            report(p, p->lineno, p->label, NULL,
                   "a camera section needs a name; expected "
                   "[camera NAME] such as [camera 27]");
        else
            begin_camera(p, r, e);
    } else {
        char rest_shown[LABEL_MAX];

        unknown_section(p, config__shown(word, raw, sizeof(raw)),
                        config__shown(rest, rest_shown, sizeof(rest_shown)));
    }
}

/* ---- the reader: feeds inih and reads headers and malformed lines ------ */

static const char *find_stop(const char *s, const char *e, const char *chars)
{
    bool was_space = false;

    for (; s < e; s++) {
        if (*s && strchr(chars, *s))
            return s;
        if (was_space && (*s == ';' || *s == '#'))
            return e; /* an inline comment */
        was_space = is_space(*s);
    }
    return e;
}

static void syntax_error(struct parser *p, const char *what)
{
    if (!p->first_syntax_line)
        p->first_syntax_line = p->lineno;
    report(p, p->lineno, NULL, NULL, "%s", what);
}

/* Looks at the whole line that starts at p->pos, before inih sees it. */
static void scan_line(struct parser *p)
{
    const char *s = p->text + p->pos;
    const char *nl = memchr(s, '\n', p->len - p->pos);
    const char *e = nl ? nl : p->text + p->len;
    const char *stop;

    if (e - s > CONFIG_LINE_MAX - 2) {
        p->skip_line = p->lineno;
        syntax_error(p, "line is too long; expected at most 65534 characters");
        return;
    }
    if (p->lineno == 1 && e - s >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        s += 3;
    while (s < e && is_space(*s))
        s++;
    while (e > s && is_space(e[-1]))
        e--;
    if (s == e || *s == ';' || *s == '#')
        return;
    if (*s == '[') {
        stop = find_stop(s + 1, e, "]");
        if (stop < e && *stop == ']') {
            begin_section(p, s + 1, stop);
        } else {
            p->st = ST_IGNORED;
            syntax_error(p, "section header without ']'; expected [general], [upload], [alert] or "
                            "[camera NAME]");
        }
        return;
    }
    stop = find_stop(s, e, "=:");
    if (stop == e)
        syntax_error(p, "not a setting; expected key = value, a [section] header or a "
                        "comment starting with ; or #");
}

/* An fgets() over the text; inih may call it several times for one line. */
static char *reader(char *str, int num, void *stream)
{
    struct parser *p = stream;
    size_t n = 0;

    if (num < 2 || p->pos >= p->len)
        return NULL;
    if (p->at_bol) {
        p->lineno = p->next_line++;
        scan_line(p);
    }
    while (n + 1 < (size_t)num && p->pos < p->len) {
        char c = p->text[p->pos++];

        str[n++] = c;
        if (c == '\n')
            break;
    }
    str[n] = '\0';
    p->at_bol = str[n - 1] == '\n';
    return str;
}

/* ---- cross-key validation --------------------------------------------- */

static void check_timeouts(struct parser *p, enum section sec, size_t cam, const char *label,
                           int64_t connect_ms, int64_t total_ms, int fallback_line)
{
    char a[32], b[32];
    const struct config_origin *o = origin_by_name(p->cfg, sec, cam, "timeout");

    if (any_rejected(p, sec, cam, "timeout", "connect_timeout", (char *)NULL))
        return; /* compared with a default: said already */
    if (!o)
        o = origin_by_name(p->cfg, sec, cam, "connect_timeout");
    if (total_ms < connect_ms)
        report(p, line_of(o, fallback_line), label, "timeout",
               "%s is shorter than "
               "connect_timeout %s; expected timeout >= connect_timeout",
               units_format_duration(total_ms, a, sizeof(a)),
               units_format_duration(connect_ms, b, sizeof(b)));
}

static bool has_prefix_ci(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static void both_set(struct parser *p, enum section sec, size_t cam, const char *label,
                     const char *a, const char *b)
{
    const struct config_origin *oa = origin_by_name(p->cfg, sec, cam, a);
    const struct config_origin *ob = origin_by_name(p->cfg, sec, cam, b);

    if (oa && ob && !oa->from_url)
        report(p, ob->lineno, label, b,
               "%s is also set (line %d); expected only one of %s "
               "and %s",
               a, oa->lineno, a, b);
}

static bool host_is_loopback(const char *url)
{
    struct url_parts u;

    return url_split(url, &u) == CS_OK && url_host_is_loopback(&u);
}

static bool has_userinfo(const char *url)
{
    struct url_parts u;

    url_split(url, &u);
    return u.userinfo != NULL;
}

/* A PostgREST table name: an SQL identifier that needs no quoting. */
static bool table_name_ok(const char *t)
{
    if (!t || !*t || strlen(t) > 63 || !(isalpha((unsigned char)*t) || *t == '_'))
        return false;
    for (; *t; t++)
        if (!(isalnum((unsigned char)*t) || *t == '_'))
            return false;
    return true;
}

/* bucket, table and restaurant_id become path segments (the dir backend's
 * directories, the Storage URL, object names): the same rule everywhere,
 * checked once here (sync and delivery rely on it). */
static void validate_names(struct parser *p)
{
    const struct config_upload *u = &p->cfg->upload;
    const char *rid = p->cfg->general.restaurant_id, *why;
    char q[SHOWN_MAX];

    if (rid && config_validate_name(rid, &why))
        report(p, line_of(origin_by_name(p->cfg, SEC_GENERAL, 0, "restaurant_id"), 0), "general",
               "restaurant_id",
               "\"%s\" %s; expected 1 to %d letters, digits, '.', '_' or '-', not starting with "
               "'.' (it leads every object path)",
               config__shown(rid, q, sizeof(q)), why, CONFIG_NAME_MAX);
    if (u->bucket && config_validate_name(u->bucket, &why))
        report(p, line_of(origin_by_name(p->cfg, SEC_UPLOAD, 0, "bucket"), 0), "upload", "bucket",
               "\"%s\" %s; expected 1 to %d letters, digits, '.', '_' or '-', not starting with "
               "'.'",
               config__shown(u->bucket, q, sizeof(q)), why, CONFIG_NAME_MAX);
    if (u->table && !table_name_ok(u->table))
        report(p, line_of(origin_by_name(p->cfg, SEC_UPLOAD, 0, "table"), 0), "upload", "table",
               "\"%s\" is not a table name; expected a letter or '_' then letters, digits or "
               "'_' (at most 63)",
               config__shown(u->table, q, sizeof(q)));
}

static void validate_upload(struct parser *p)
{
    const struct config_upload *u = &p->cfg->upload;
    int line = line_of(origin_by_name(p->cfg, SEC_UPLOAD, 0, "backend"), 0);
    int url_line = line_of(origin_by_name(p->cfg, SEC_UPLOAD, 0, "url"), 0);
    char q[SHOWN_MAX];

    both_set(p, SEC_UPLOAD, 0, "upload", "key", "key_file");
    if (u->backend == UPLOAD_SUPABASE && !u->url &&
        !any_rejected(p, SEC_UPLOAD, 0, "url", (char *)NULL))
        report(p, line, "upload", "url",
               "missing; backend = supabase needs the project URL "
               "such as url = https://example.supabase.co");
    if (u->backend == UPLOAD_SUPABASE && !u->key &&
        !any_rejected(p, SEC_UPLOAD, 0, "key", "key_file", (char *)NULL))
        report(p, line, "upload", "key",
               "missing; backend = supabase needs the API key: "
               "key_file = /etc/camsnap/supabase.key or key = ${SUPABASE_KEY}");
    if (u->backend == UPLOAD_DIR && !u->path &&
        !any_rejected(p, SEC_UPLOAD, 0, "path", (char *)NULL))
        report(p, line, "upload", "path",
               "missing; backend = dir needs the destination "
               "directory such as path = /srv/camsnap-delivered");
    if (u->url && !has_prefix_ci(u->url, "http://") && !has_prefix_ci(u->url, "https://"))
        report(p, url_line, "upload", "url", "\"%s\" is not a web address; expected https://...",
               shown_url(u->url, q, sizeof(q)));
    /* The key travels in headers: never in a URL that is stored in every
     * row and shown by config check, never in clear to another machine. */
    if (u->url && has_userinfo(u->url))
        report(p, url_line, "upload", "url",
               "holds a user name or password (user:pass@host); remove it: the API key goes in "
               "key_file (or key = ${ENV}) and travels in headers");
    if (u->url && u->backend == UPLOAD_SUPABASE && has_prefix_ci(u->url, "http://") &&
        !host_is_loopback(u->url) && !u->allow_plain_http)
        report(p, url_line, "upload", "url",
               "\"%s\" would send the API key in clear over plain http to another machine; "
               "use https://, or set allow_plain_http = yes if the network is private and "
               "trusted",
               shown_url(u->url, q, sizeof(q)));
    check_timeouts(p, SEC_UPLOAD, 0, "upload", u->connect_timeout_ms, u->timeout_ms, 0);
    if (u->backoff_base_ms > 0 && u->backoff_cap_ms < u->backoff_base_ms &&
        !any_rejected(p, SEC_UPLOAD, 0, "backoff_base", "backoff_cap", (char *)NULL))
        report(p, line_of(origin_by_name(p->cfg, SEC_UPLOAD, 0, "backoff_cap"), 0), "upload",
               "backoff_cap",
               "is shorter than backoff_base; expected backoff_cap >= "
               "backoff_base");
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes %XX escapes of [b, e) into a new string; *bad on a bad escape or %00. */
static char *url_decode(const char *b, const char *e, bool *bad)
{
    char *out = malloc((size_t)(e - b) + 1), *o = out;

    if (!out)
        return NULL;
    for (; b < e; b++) {
        unsigned v;

        if (*b != '%') {
            *o++ = *b;
            continue;
        }
        if (e - b < 3 || hex_value(b[1]) < 0 || hex_value(b[2]) < 0 ||
            (v = (unsigned)(hex_value(b[1]) * 16 + hex_value(b[2]))) == 0) {
            *bad = true;
            break;
        }
        *o++ = (char)v;
        b += 2;
    }
    *o = '\0';
    return out;
}

static void add_url_origin(struct parser *p, size_t i, const char *key, int line, bool env_only)
{
    struct config_origin *o = add_origin(p, SEC_CAMERA, i, config__find_key(SEC_CAMERA, key), line);

    if (o) {
        o->env_only = env_only;
        o->from_url = true;
    }
}

/* Stores the decoded credentials of camera i; takes *user and *pass. */
static void move_credentials(struct parser *p, size_t i, const struct config_origin *ou,
                             char **user, char **pass, const char *label)
{
    struct camera_config *c = &p->cfg->cameras[i];
    int line = line_of(ou, c->lineno);
    bool env_only = ou && ou->env_only; /* ou dies when add_origin() grows the array */
    bool clear = ou && ou->url_pw;
    char what[LABEL_MAX + 32];

    if (**user) {
        c->username = *user;
        *user = NULL;
        add_url_origin(p, i, "username", line, env_only);
    }
    if (*pass && **pass) {
        c->password = *pass;
        *pass = NULL;
        add_url_origin(p, i, "password", line, env_only);
        config__bprintf(what, sizeof(what), "[%s] url credentials", label);
        if (clear)
            note_clear_secret(p, line, what, "password_file");
    }
}

/* Moves "user:password@" out of a camera url into username and password. */
static void move_url_credentials(struct parser *p, size_t i, const char *label)
{
    struct camera_config *c = &p->cfg->cameras[i];
    struct config_origin *ou = origin_by_name(p->cfg, SEC_CAMERA, i, "url");
    const char *auth, *at, *colon;
    char *user, *pass = NULL, *url;
    bool bad = false;
    struct url_parts parts;

    url_split(c->url, &parts);
    if (!parts.userinfo)
        return;
    auth = parts.userinfo;
    at = parts.userinfo + parts.userinfo_len;
    colon = memchr(auth, ':', (size_t)(at - auth));
    user = url_decode(auth, colon ? colon : at, &bad);
    if (colon)
        pass = url_decode(colon + 1, at, &bad);
    url = malloc(strlen(c->url) + 1);
    if (!user || (colon && !pass) || !url) {
        p->nomem = true;
        goto out;
    }
    memcpy(url, c->url, (size_t)(auth - c->url));
    memcpy(url + (auth - c->url), at + 1, strlen(at + 1) + 1);
    config__free_str(c->url);
    c->url = url;
    url = NULL;
    if (bad) {
        report(p, line_of(ou, c->lineno), label, "url",
               "the user:password@ part has a bad "
               "%%-escape; expected %%XX with two hex digits, not %%00");
    } else if (c->username || c->password) {
        report(p, line_of(ou, c->lineno), label, "url",
               "holds user:password@ while username "
               "or password is also set; expected the credentials in one place");
    } else {
        move_credentials(p, i, ou, &user, &pass, label);
    }
out:
    config__free_str(user);
    config__free_str(pass);
    free(url);
}

static void check_camera_url(struct parser *p, size_t i, const char *label)
{
    static const char *const schemes[] = {"rtsp://", "rtsps://", "http://", "https://"};
    const struct camera_config *c = &p->cfg->cameras[i];
    int line = line_of(origin_by_name(p->cfg, SEC_CAMERA, i, "url"), c->lineno);
    char q[SHOWN_MAX];
    int w, h;

    shown_url(c->url, q, sizeof(q));
    if (has_prefix_ci(c->url, "synthetic://")) {
        /* The size; options after '?' are checked by the source itself. */
        const char *size = c->url + strlen("synthetic://");
        char res[32];
        snprintf(res, sizeof(res), "%.*s", (int)strcspn(size, "?"), size);
        if (units_parse_resolution(res, &w, &h))
            report(p, line, label, "url",
                   "\"%s\" is not a synthetic camera; expected "
                   "synthetic://WIDTHxHEIGHT[?delay=DURATION&fail=WHAT] such as "
                   "synthetic://1920x1080",
                   q);
        return;
    }
    for (size_t j = 0; j < sizeof(schemes) / sizeof(schemes[0]); j++) {
        const char *host = c->url + strlen(schemes[j]);

        if (!has_prefix_ci(c->url, schemes[j]))
            continue;
        if (!*host || strchr("/?#:", *host))
            report(p, line, label, "url",
                   "\"%s\" has no host; expected such as "
                   "%s192.0.2.27/...",
                   q, schemes[j]);
        return;
    }
    report(p, line, label, "url",
           "\"%s\" is not a camera URL; expected rtsp://, rtsps://, "
           "http://, https:// or synthetic://WIDTHxHEIGHT",
           q);
}

/* rtsps:// verification: FFmpeg takes the CA file inside a URL query, so it
 * may not hold the query's separators; turning verification off is said
 * out loud (config check and the log call it insecure). */
static void check_camera_tls(struct parser *p, size_t i, const char *label)
{
    const struct camera_config *c = &p->cfg->cameras[i];
    bool rtsps = c->url && has_prefix_ci(c->url, "rtsps://");

    if (c->tls_ca_file && strpbrk(c->tls_ca_file, "&#?="))
        report(p, line_of(origin_by_name(p->cfg, SEC_CAMERA, i, "tls_ca_file"), c->lineno), label,
               "tls_ca_file", "holds one of & # ? =; expected a path without them");
    if (rtsps && !c->tls_verify)
        remark(p, line_of(origin_by_name(p->cfg, SEC_CAMERA, i, "tls_verify"), c->lineno),
               "warning: [%s] tls_verify = no: the camera's certificate is not checked; anyone "
               "on the path can pose as the camera and receive its password (insecure)",
               label);
}

static void validate_camera(struct parser *p, size_t i)
{
    struct camera_config *c = &p->cfg->cameras[i];
    char label[LABEL_MAX];

    config__bprintf(label, sizeof(label), "camera %s", c->name);
    both_set(p, SEC_CAMERA, i, label, "password", "password_file");
    check_timeouts(p, SEC_CAMERA, i, label, c->connect_timeout_ms, c->deadline_ms, c->lineno);
    if (!c->url && any_rejected(p, SEC_CAMERA, i, "url", (char *)NULL))
        return; /* its error is said where it was set */
    if (!c->url) {
        report(p, c->lineno, label, "url",
               "missing; every camera needs url = "
               "rtsp://HOST/PATH, http://HOST/PATH or synthetic://WIDTHxHEIGHT");
        return;
    }
    move_url_credentials(p, i, label);
    check_camera_url(p, i, label);
    check_camera_tls(p, i, label);
}

/* Refuses a group- or world-accessible file that holds a secret in clear. */
static void check_mode(struct parser *p, const struct stat *st)
{
    if (!st || !p->clear_line || !(st->st_mode & 077))
        return;
    report(p, 0, NULL, NULL,
           "holds a secret (line %d: %s) but is readable by group or others "
           "(mode %04o); run: chmod 600 %s  or move the secret to %s / ${ENV}",
           p->clear_line, p->clear_what, (unsigned)(st->st_mode & 07777), p->name, p->clear_fix);
}

static void apply_override(struct parser *p, const char *dir)
{
    const struct key_def *k = config__find_key(SEC_GENERAL, "state_dir");
    struct config_origin *o;

    if (!dir)
        return;
    if (!*dir) {
        report(p, 0, "general", "state_dir", "--state-dir is empty; expected a directory");
        return;
    }
    if (config__set_string(&p->cfg->general.state_dir, dir)) {
        p->nomem = true;
        return;
    }
    o = config__find_origin(p->cfg, SEC_GENERAL, 0, k);
    if (!o)
        o = add_origin(p, SEC_GENERAL, 0, k, 0);
    if (!o)
        return;
    free(o->var);
    *o = (struct config_origin){.sec = SEC_GENERAL, .key = k, .override = true};
}

static void set_ini_options(void)
{
    static char comment_prefixes[] = ";#";
    static char inline_prefixes[] = ";#";

    ini_use_stack = false;
    ini_allow_realloc = true;
    ini_max_line = CONFIG_LINE_MAX;
    ini_allow_multiline = false;
    ini_allow_inline_comments = true;
    ini_inline_comment_prefixes = inline_prefixes;
    ini_start_comment_prefixes = comment_prefixes;
    ini_allow_no_value = false;
    ini_stop_on_first_error = false;
    ini_allow_bom = true;
}

/* Parses and validates text; st (may be NULL) is the file's for the mode check. */
static enum cs_err load_text(const char *text, size_t len, const char *name, const char *path,
                             const struct stat *st, const char *override, FILE *errs,
                             struct config **out)
{
    struct parser p = {
        .name = name, .errs = errs, .text = text, .len = len, .next_line = 1, .at_bol = true};
    enum cs_err rc = CS_OK;
    int r;

    p.cfg = calloc(1, sizeof(*p.cfg));
    if (!p.cfg || (path && !(p.cfg->path = strdup(path)))) {
        free(p.cfg);
        return CS_NOMEM;
    }
    apply_defaults(&p, SEC_GENERAL, &p.cfg->general);
    apply_defaults(&p, SEC_UPLOAD, &p.cfg->upload);
    apply_defaults(&p, SEC_ALERT, &p.cfg->alert);
    set_ini_options();
    r = ini_parse_stream(reader, &p, on_key, &p);
    if (r == -2)
        p.nomem = true;
    else if (r > 0 && r != p.first_syntax_line && !p.skip_line)
        report(&p, r, NULL, NULL,
               "cannot parse this line; expected key = value, a [section] "
               "header or a comment");
    apply_override(&p, override);
    validate_upload(&p);
    validate_names(&p);
    both_set(&p, SEC_ALERT, 0, "alert", "webhook_url", "webhook_url_file");
    both_set(&p, SEC_ALERT, 0, "alert", "smtp_password", "smtp_password_file");
    config__validate_alert(&p, p.cfg);
    for (size_t i = 0; i < p.cfg->n_cameras; i++)
        validate_camera(&p, i);
    check_mode(&p, st);
    flush_messages(&p);
    if (p.nomem)
        rc = CS_NOMEM;
    else if (p.n_errors)
        rc = CS_CONFIG;
    if (rc) {
        config_free(p.cfg);
        return rc;
    }
    *out = p.cfg;
    return CS_OK;
}

static void PRINTF_LIKE(3, 4) file_error(FILE *errs, const char *name, const char *fmt, ...)
{
    va_list ap;

    if (!errs)
        return;
    fprintf(errs, "%s: ", name);
    va_start(ap, fmt);
    vfprintf(errs, fmt, ap);
    va_end(ap);
    fputc('\n', errs);
}

/* Reads a whole regular file of at most CONFIG_FILE_MAX bytes into *text. */
static enum cs_err read_config_file(const char *path, FILE *errs, char **text, size_t *len,
                                    struct stat *st)
{
    enum cs_err rc = CS_IO;
    size_t cap, n = 0;
    char *buf = NULL;
    ssize_t got;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK); /* FIFO: no hang */

    if (fd < 0) {
        file_error(errs, path, "cannot open: %s", strerror(errno));
        return CS_IO;
    }
    if (fstat(fd, st) || !S_ISREG(st->st_mode) || st->st_size > CONFIG_FILE_MAX) {
        file_error(errs, path, "not a regular file of at most %d bytes", CONFIG_FILE_MAX);
        rc = CS_CONFIG;
        goto out;
    }
    cap = (size_t)st->st_size + 2;
    buf = malloc(cap);
    if (!buf) {
        rc = CS_NOMEM;
        goto out;
    }
    while (n + 1 < cap && (got = read(fd, buf + n, cap - 1 - n)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            file_error(errs, path, "cannot read: %s", strerror(errno));
            goto out;
        }
        n += (size_t)got;
    }
    if (n + 1 >= cap) {
        file_error(errs, path, "changed while it was read; try again");
        goto out;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    buf = NULL;
    rc = CS_OK;
out:
    free(buf);
    close(fd);
    return rc;
}

enum cs_err config_load(const char *path, const char *state_dir_override, FILE *errs,
                        struct config **out)
{
    struct stat st;
    char *text = NULL;
    const char *nul;
    size_t len = 0;
    enum cs_err rc;

    *out = NULL;
    rc = read_config_file(path, errs, &text, &len, &st);
    if (rc)
        return rc;
    nul = memchr(text, '\0', len);
    if (nul) {
        int line = 1;

        for (const char *s = text; s < nul; s++)
            line += *s == '\n';
        if (errs)
            fprintf(errs, "%s:%d: holds a NUL byte; expected a text file\n", path, line);
        rc = CS_CONFIG;
        goto out;
    }
    rc = load_text(text, len, path, path, &st, state_dir_override, errs, out);
out:
    explicit_bzero(text, len);
    free(text);
    return rc;
}

enum cs_err config_load_string(const char *text, const char *name, const char *state_dir_override,
                               FILE *errs, struct config **out)
{
    *out = NULL;
    if (!text)
        return CS_CONFIG;
    return load_text(text, strlen(text), name ? name : "config", NULL, NULL, state_dir_override,
                     errs, out);
}

void config_free(struct config *cfg)
{
    if (!cfg)
        return;
    config__free_fields(SEC_GENERAL, &cfg->general);
    config__free_fields(SEC_UPLOAD, &cfg->upload);
    config__free_fields(SEC_ALERT, &cfg->alert);
    for (size_t i = 0; i < cfg->n_cameras; i++) {
        config__free_fields(SEC_CAMERA, &cfg->cameras[i]);
        config__free_str(cfg->cameras[i].name);
    }
    free(cfg->cameras);
    for (size_t i = 0; i < cfg->n_origins; i++) {
        free(cfg->origins[i].var);
        free(cfg->origins[i].file);
    }
    free(cfg->origins);
    free(cfg->path);
    explicit_bzero(cfg, sizeof(*cfg));
    free(cfg);
}

size_t config_enabled_cameras(const struct config *cfg)
{
    size_t n = 0;

    for (size_t i = 0; cfg && i < cfg->n_cameras; i++)
        n += cfg->cameras[i].enabled;
    return n;
}

const struct camera_config *config_camera(const struct config *cfg, const char *name)
{
    if (!cfg || !name)
        return NULL;
    for (size_t i = 0; i < cfg->n_cameras; i++)
        if (strcmp(cfg->cameras[i].name, name) == 0)
            return &cfg->cameras[i];
    return NULL;
}

enum cs_err config_validate_name(const char *name, const char **why)
{
    const char *w = NULL;

    if (!name || !*name)
        w = "is empty";
    else if (strlen(name) > CONFIG_NAME_MAX)
        w = "is longer than 64 characters";
    else if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        w = "is \".\" or \"..\"";
    else if (name[0] == '.')
        w = "starts with '.'";
    for (const char *s = name; !w && *s; s++) {
        if (*s == '/')
            w = "contains '/'";
        else if ((unsigned char)*s < 0x20 || *s == 0x7f)
            w = "contains a control character";
        else if (!config__is_alnum(*s) && !strchr("._-", *s))
            w = "contains a character other than letters, digits, '.', '_' and '-'";
    }
    if (why)
        *why = w;
    return w ? CS_CONFIG : CS_OK;
}
