/*
 * config_print.c - the outputs generated from the key table: the effective
 * configuration (`camsnap config check`), the markdown reference and the
 * commented sample; and the text formatting helpers shared by the config
 * module's messages.
 */
#include "config_priv.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MASK "********"

static const void *cfield(const void *base, size_t off)
{
    return (const char *)base + off;
}

/* Formats into buf like snprintf; a result that does not fit ends in "...".
 * For messages and display only, where a cut text is acceptable. Returns buf. */
char *PRINTF_LIKE(3, 4) config__bprintf(char *buf, size_t sz, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sz, fmt, ap);
    va_end(ap);
    if (n < 0)
        buf[0] = '\0';
    else if ((size_t)n >= sz && sz > 4)
        memcpy(buf + sz - 4, "...", 4);
    return buf;
}

/* Copies s for a message: control characters become '?', long text is cut. */
const char *config__shown(const char *s, char *buf, size_t sz)
{
    size_t i = 0;

    for (; *s && i + 1 < sz; s++) {
        if (i + 4 >= sz && s[1]) {
            memcpy(buf + i, "...", 3);
            i += 3;
            break;
        }
        buf[i++] = ((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s;
    }
    buf[i] = '\0';
    return buf;
}

/* ---- output ------------------------------------------------------------ */

/* Exact, re-readable size: "20MB", "1MiB", "1234". */
static const char *format_size_exact(int64_t v, char *buf, size_t sz)
{
    static const struct {
        const char *name;
        int64_t mult;
    } units[] = {
        {"TB", 1000000000000LL}, {"TiB", 1LL << 40}, {"GB", 1000000000LL}, {"GiB", 1LL << 30},
        {"MB", 1000000LL},       {"MiB", 1LL << 20}, {"KB", 1000LL},       {"KiB", 1LL << 10},
    };

    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (v > 0 && v % units[i].mult == 0) {
            config__bprintf(buf, sz, "%lld%s", (long long)(v / units[i].mult), units[i].name);
            return buf;
        }
    }
    config__bprintf(buf, sz, "%lld", (long long)v);
    return buf;
}

static const char *enum_name(const struct key_def *k, int v)
{
    for (int i = 0; k->choices[i]; i++)
        if (i == v)
            return k->choices[i];
    return "?";
}

static const char *format_value(const struct config *cfg, const struct key_def *k, const void *base,
                                size_t cam, char *buf, size_t sz)
{
    const void *f = cfield(base, k->off);
    const struct config_origin *o;

    switch (k->type) {
    case KT_SECRET: return *(char *const *)f ? MASK : "";
    case KT_SECRET_FILE:
        o = config__find_origin(cfg, k->sec, cam, k);
        return o && o->file ? o->file : "";
    case KT_DURATION: return units_format_duration(*(const int64_t *)f, buf, sz);
    case KT_SIZE: return format_size_exact(*(const int64_t *)f, buf, sz);
    case KT_INT:
    case KT_PIXELS: config__bprintf(buf, sz, "%lld", (long long)*(const int64_t *)f); return buf;
    case KT_BOOL: return *(const bool *)f ? "yes" : "no";
    case KT_ENUM: return enum_name(k, *(const int *)f);
    case KT_WINDOW: return units_format_window(f, buf, sz);
    case KT_DAYS: return units_format_days(*(const int *)f, buf, sz);
    case KT_RESOLUTION:
        if (*(const int *)f == 0)
            return "";
        config__bprintf(buf, sz, "%dx%d", *(const int *)f, *(const int *)cfield(base, k->off2));
        return buf;
    default:
        /* A camera URL may carry a password in its query (pwd=...). */
        if (!strcmp(k->name, "url") && *(char *const *)f)
            return redact_url(*(char *const *)f, buf, sz);
        return *(char *const *)f ? *(char *const *)f : "";
    }
}

static const char *format_origin(const struct config *cfg, const struct key_def *k, size_t cam,
                                 char *buf, size_t sz)
{
    const struct config_origin *o = config__find_origin(cfg, k->sec, cam, k);
    const struct key_def *fk;

    if (!o && k->type == KT_SECRET && (fk = config__file_key_for(k)) &&
        config__find_origin(cfg, k->sec, cam, fk)) {
        config__bprintf(buf, sz, "from %s", fk->name);
        return buf;
    }
    if (!o)
        return "default";
    if (o->override)
        return "--state-dir";
    if (o->from_url)
        config__bprintf(buf, sz, "from url, %s%s%d", cfg->path ? cfg->path : "line ",
                        cfg->path ? ":" : "", o->lineno);
    else if (o->env_only && o->var)
        config__bprintf(buf, sz, "${%s}", o->var);
    else
        config__bprintf(buf, sz, "%s%s%d", cfg->path ? cfg->path : "line ", cfg->path ? ":" : "",
                        o->lineno);
    return buf;
}

static void print_keys(const struct config *cfg, FILE *out, enum section sec, size_t cam,
                       const void *base)
{
    char vbuf[1024], obuf[4200]; /* an origin names the file */

    for (size_t i = 0; i < config__n_keys; i++) {
        if (config__keys[i].sec != sec)
            continue;
        fprintf(out, "%-15s = %-28s ; %s\n", config__keys[i].name,
                format_value(cfg, &config__keys[i], base, cam, vbuf, sizeof(vbuf)),
                format_origin(cfg, &config__keys[i], cam, obuf, sizeof(obuf)));
    }
}

void config_print_effective(const struct config *cfg, FILE *out)
{
    if (!cfg || !out)
        return;
    if (cfg->path)
        fprintf(out, "; effective configuration of %s\n", cfg->path);
    fprintf(out, "[general]\n");
    print_keys(cfg, out, SEC_GENERAL, 0, &cfg->general);
    fprintf(out, "\n[upload]\n");
    print_keys(cfg, out, SEC_UPLOAD, 0, &cfg->upload);
    fprintf(out, "\n[alert]\n");
    print_keys(cfg, out, SEC_ALERT, 0, &cfg->alert);
    for (size_t i = 0; i < cfg->n_cameras; i++) {
        fprintf(out, "\n[camera %s]\n", cfg->cameras[i].name);
        print_keys(cfg, out, SEC_CAMERA, i, &cfg->cameras[i]);
    }
}

static const char *type_text(const struct key_def *k, char *buf, size_t sz)
{
    char lim[32], lim2[32];

    switch (k->type) {
    case KT_STRING: return "string";
    case KT_PATH: return "path";
    case KT_SECRET: return "secret";
    case KT_SECRET_FILE: config__bprintf(buf, sz, "secret file (fills %s)", k->fills); return buf;
    case KT_SIZE:
        config__bprintf(buf, sz, "size %s..%s", format_size_exact(k->min, lim, sizeof(lim)),
                        format_size_exact(k->max, lim2, sizeof(lim2)));
        return buf;
    case KT_BOOL: return "yes/no";
    case KT_WINDOW: return "HH:MM-HH:MM or always";
    case KT_DAYS: return "weekdays (all, mon-fri, sat,sun)";
    case KT_RESOLUTION: return "WIDTHxHEIGHT";
    case KT_PIXELS: return "pixels (WIDTHxHEIGHT, a number, or 12M), at most 1000M";
    case KT_TIMEZONE: return "time zone";
    case KT_ENUM: config__list_choices(k->choices, buf, sz); return buf;
    case KT_INT:
        config__bprintf(buf, sz, "integer %lld..%lld", (long long)k->min, (long long)k->max);
        return buf;
    case KT_DURATION:
        config__bprintf(buf, sz, "duration %s..%s", units_format_duration(k->min, lim, sizeof(lim)),
                        units_format_duration(k->max, lim2, sizeof(lim2)));
        return buf;
    }
    return "?";
}

/* Writes text for a markdown table cell. */
static void md_cell(FILE *out, const char *text)
{
    for (; *text; text++) {
        if (*text == '|')
            fputc('\\', out);
        fputc(*text, out);
    }
}

void config_print_reference(FILE *out)
{
    static const char *const sec_labels[] = {"general", "upload", "alert", "camera NAME"};
    char buf[128];

    fprintf(out, "| section | key | type | default | description |\n");
    fprintf(out, "|---|---|---|---|---|\n");
    for (size_t i = 0; i < config__n_keys; i++) {
        const struct key_def *k = &config__keys[i];

        fprintf(out, "| [%s] | %s | ", sec_labels[k->sec], k->name);
        md_cell(out, type_text(k, buf, sizeof(buf)));
        fprintf(out, " | ");
        md_cell(out, k->def ? k->def : "");
        fprintf(out, " | ");
        md_cell(out, k->help);
        fprintf(out, " |\n");
    }
}

/* Writes text for roff: backslashes doubled, a leading '.' or '\'' escaped,
 * '-' as \- (a real minus, so that options can be searched for). */
static void roff_text(FILE *out, const char *text)
{
    if (*text == '.' || *text == '\'')
        fputs("\\&", out);
    for (; *text; text++) {
        if (*text == '\\')
            fputs("\\e", out);
        else if (*text == '-')
            fputs("\\-", out);
        else
            fputc(*text, out);
    }
}

void config_print_man(FILE *out)
{
    static const char *const sec_titles[] = {"[general]", "[upload]", "[alert]", "[camera NAME]"};
    char buf[128];

    fputs(".\\\" Generated by `camsnap config man` from the key table; do not edit.\n"
          ".TH CAMSNAP.CONF 5 \"\" \"camsnap " CAMSNAP_VERSION "\" \"File Formats\"\n"
          ".SH NAME\n"
          "camsnap.conf \\- configuration of the camsnap camera snapshot agent\n"
          ".SH SYNOPSIS\n"
          ".I /etc/camsnap/camsnap.conf\n"
          ".SH DESCRIPTION\n"
          "One INI file: \\fB[general]\\fR, \\fB[upload]\\fR, \\fB[alert]\\fR and one\n"
          "\\fB[camera NAME]\\fR section per camera.\n"
          "Lines starting with \\fB;\\fR or \\fB#\\fR are comments, and so is the rest of a line\n"
          "after a space and one of them.\n"
          "A duration needs its unit (250ms, 30s, 5m, 1h30m, 7d): a bare number such as\n"
          "30 is an error (only 0 may stand alone); counts (workers, concurrency,\n"
          "jpeg_quality) are bare numbers. Sizes take units too (512KB, 20MB, 1.5GiB).\n"
          "A value may use \\fB${VAR}\\fR for the environment; \\fB$$\\fR is a dollar sign.\n"
          ".PP\n"
          "Secrets (camera passwords, the upload key) come from the \\fI*_file\\fR keys or\n"
          "\\fB${VAR}\\fR; a file holding a secret in clear, or a secret file, that group or\n"
          "others may read is refused.\n"
          "Unknown keys and sections are errors, each named with its file and line.\n"
          "\\fBcamsnap config check\\fR validates a file and prints the effective values,\n"
          "each with its origin (FILE:LINE, default, ${VAR} or --state-dir); it lists every\n"
          "error in the order of the file's lines, one per cause, and refuses a\n"
          "configuration without an enabled camera.\n",
          out);
    for (int sec = SEC_GENERAL; sec <= SEC_CAMERA; sec++) {
        fprintf(out, ".SH %s\n", sec_titles[sec]);
        if (sec == SEC_CAMERA)
            fputs("NAME (letters, digits, '.', '_', '-') names the spool directory\n"
                  "\\fIcamera_NAME\\fR and the camera's remote path.\n",
                  out);
        for (size_t i = 0; i < config__n_keys; i++) {
            const struct key_def *k = &config__keys[i];
            if (k->sec != (enum section)sec)
                continue;
            fprintf(out, ".TP\n.B %s\n", k->name);
            roff_text(out, type_text(k, buf, sizeof(buf)));
            if (k->def && *k->def) {
                fputs("; default \\fB", out);
                roff_text(out, k->def);
                fputs("\\fR", out);
            }
            fputs(".\n", out);
            roff_text(out, k->help);
            fputc('\n', out);
        }
    }
    fputs(".SH EXAMPLE\n.nf\n", out);
    fputs("[general]\nstate_dir = /var/lib/camsnap\ninterval  = 5m\nwindow    = 11:00\\-22:00\n\n"
          "[upload]\nbackend  = supabase\nurl      = https://example.supabase.co\n"
          "key_file = /etc/camsnap/supabase.key\n\n"
          "[camera 27]\nurl           = rtsp://192.0.2.27:554/Streaming/Channels/101\n"
          "username      = admin\npassword_file = /etc/camsnap/cam27.pass\n"
          "resolution    = 2592x1944\n",
          out);
    fputs(".fi\n.SH SEE ALSO\n.BR camsnap (1)\n", out);
}

static void sample_keys(FILE *out, enum section sec)
{
    for (size_t i = 0; i < config__n_keys; i++) {
        const struct key_def *k = &config__keys[i];
        const char *v = k->def ? k->def : k->example ? k->example : "";

        if (k->sec == sec)
            fprintf(out, "; %s\n;%s = %s\n", k->help, k->name, v);
    }
}

void config_print_sample(FILE *out)
{
    fprintf(out, "; camsnap configuration (generated from the key table).\n"
                 "; Each key shows its default or an example; remove the leading ';' to set it.\n"
                 "; Durations need their unit: 30s, 5m, 1h30m, 250ms (a bare 30 is an error).\n"
                 "; Sizes: 512KB, 20MB, 1.5GiB.\n"
                 "; Secrets: use the *_file keys or ${ENV_VAR}; a file that holds a secret in\n"
                 "; clear must not be readable by group or others (chmod 600).\n");
    fprintf(out, "\n[general]\n");
    sample_keys(out, SEC_GENERAL);
    fprintf(out, "\n[upload]\n");
    sample_keys(out, SEC_UPLOAD);
    fprintf(out, "\n; Alerts (camera down, data quality, backlog, disk, upload refused) and\n"
                 "; reports by webhook and/or e-mail; no channel set: none are sent.\n"
                 "[alert]\n");
    sample_keys(out, SEC_ALERT);
    fprintf(out, "\n; One section per camera; the name (letters, digits, '.', '_', '-')\n"
                 "; names its spool folder camera_NAME.\n;[camera 27]\n");
    sample_keys(out, SEC_CAMERA);
}
