#include "recover.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "clock.h"
#include "image.h"
#include "log.h"

#define MAX_STILL_BYTES (256LL * 1024 * 1024)

struct walk {
    struct spool *sp;
    struct store *st;
    struct recover_report *rep;
    /* rows to fix after the row walk (a walk may not write the store) */
    char **names;
    enum still_status *action;
    size_t n, cap;
};

static int64_t name_to_ms(const struct spool_name *sn)
{
    struct tm tm = {0};

    if (sscanf(sn->date, "%4d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3 ||
        sscanf(sn->time, "%2d%2d%2d", &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 3)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    tm.tm_isdst = -1;
    return (int64_t)mktime(&tm) * 1000;
}

/* A final file with no row: adopt it if it decodes, else quarantine it. */
static enum cs_err adopt(struct walk *w, const char *relpath)
{
    struct spool_name sn;
    char path[PATH_MAX], iso[40], sha[HASH_HEX_LEN + 1], why[256] = "";
    uint8_t *data = NULL;
    size_t len = 0;
    int wd = 0, ht = 0;
    enum cs_err rc = spool_parse_name(relpath, &sn);
    struct still_info si = {.filename = relpath, .camera_name = sn.camera, .local_path = path};

    if (rc || (rc = spool_path(w->sp, relpath, path, sizeof(path))))
        return rc;
    si.capture_ms = name_to_ms(&sn);
    si.capture_iso = clock_format_iso(si.capture_ms, 0, iso, sizeof(iso));
    rc = spool_read(w->sp, relpath, MAX_STILL_BYTES, &data, &len);
    if (rc == CS_OK)
        rc = image_verify_jpeg(data, len, &wd, &ht, why, sizeof(why));
    else
        snprintf(why, sizeof(why), "cannot read file: %s", cs_strerror(rc));
    si.file_size = (int64_t)len;
    si.width = rc ? sn.width : wd;
    si.height = rc ? sn.height : ht;
    if (data) {
        hash_sha256_hex(data, len, sha);
        si.sha256_hex = sha;
    }
    free(data);
    if (rc) {
        log_warnx(sn.camera, "quarantined %s: %s (kept, will not be uploaded)", relpath, why);
        w->rep->quarantined++;
        rc = store_quarantine(w->st, &si, why);
    } else {
        log_info(sn.camera, "adopted %s (file without a record, %dx%d)", relpath, wd, ht);
        w->rep->adopted++;
        rc = store_add_still(w->st, &si, NULL);
    }
    return rc;
}

/* A temp file: its writer died mid-write, or is writing it now. */
static enum cs_err remove_temp(struct walk *w, const char *relpath)
{
    enum cs_err rc = spool_remove_temp(w->sp, relpath);

    if (rc == CS_BUSY) {
        w->rep->in_flight++;
        return CS_OK;
    }
    if (rc == CS_NOTFOUND)
        return CS_OK;
    if (rc == CS_OK) {
        w->rep->temps_removed++;
        log_info(NULL, "removed unfinished temp file %s left by an interrupted capture", relpath);
    }
    return rc;
}

static enum cs_err on_file(void *ctx, enum spool_entry kind, const char *relpath)
{
    struct walk *w = ctx;
    struct spool_claim claim;
    enum still_status status;
    int64_t size;
    bool found;
    enum cs_err rc;

    w->rep->files_seen++;
    if (kind == SPOOL_ENTRY_OTHER) {
        w->rep->others++;
        return CS_OK;
    }
    if (kind == SPOOL_ENTRY_TEMP)
        return remove_temp(w, relpath);
    if ((rc = store_lookup(w->st, relpath, &found, &size, &status)))
        return rc;
    /* A row marked missing whose file came back is adopted again. */
    if (found && status != STILL_MISSING)
        return CS_OK;
    /* No row yet: an orphan, or a still another process has just written and
     * is about to record. Its writer holds it locked until then. */
    rc = spool_claim(w->sp, relpath, &claim);
    if (rc == CS_BUSY) {
        w->rep->in_flight++;
        return CS_OK;
    }
    if (rc == CS_NOTFOUND)
        return CS_OK; /* removed meanwhile (cleanup) */
    if (rc)
        return rc;
    /* The writer may have recorded it and settled since the first look. */
    rc = store_lookup(w->st, relpath, &found, &size, &status);
    if (!rc && (!found || status == STILL_MISSING))
        rc = adopt(w, relpath);
    spool_unclaim(&claim);
    return rc;
}

static enum cs_err remember(struct walk *w, const char *filename, enum still_status action)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        char **names = realloc(w->names, cap * sizeof(*names));
        enum still_status *act;
        if (!names)
            return CS_NOMEM;
        w->names = names;
        if (!(act = realloc(w->action, cap * sizeof(*act))))
            return CS_NOMEM;
        w->action = act;
        w->cap = cap;
    }
    if (!(w->names[w->n] = strdup(filename)))
        return CS_NOMEM;
    w->action[w->n++] = action;
    return CS_OK;
}

static enum cs_err on_row(void *ctx, const char *filename, const char *local_path, int64_t size)
{
    struct walk *w = ctx;
    struct spool_name sn;
    bool exists;
    int64_t actual;
    enum cs_err rc;

    if (spool_parse_name(filename, &sn) == CS_OK) {
        if ((rc = spool_stat(w->sp, filename, &exists, &actual)))
            return rc;
    } else {
        /* A row of the old system: its filename is not a spool path. */
        struct stat stb;
        exists = stat(local_path, &stb) == 0;
        actual = exists ? (int64_t)stb.st_size : -1;
    }
    if (!exists)
        return remember(w, filename, STILL_MISSING);
    if (size >= 0 && actual != size)
        return remember(w, filename, STILL_QUARANTINED);
    return CS_OK;
}

static enum cs_err apply_row_fixes(struct walk *w)
{
    enum cs_err rc = CS_OK;

    for (size_t i = 0; i < w->n && !rc; i++) {
        if (w->action[i] == STILL_MISSING) {
            log_warnx(NULL, "%s is recorded but its file is gone: marked missing", w->names[i]);
            w->rep->missing++;
            rc = store_mark_missing(w->st, w->names[i]);
        } else {
            struct spool_name sn;
            struct still_info si = {.filename = w->names[i], .local_path = "", .capture_iso = ""};
            si.camera_name = spool_parse_name(w->names[i], &sn) == CS_OK ? sn.camera : "?";
            log_warnx(NULL, "%s changed size on disk since it was recorded: quarantined",
                      w->names[i]);
            w->rep->quarantined++;
            rc = store_quarantine(w->st, &si, "file size differs from the recorded size");
        }
    }
    return rc;
}

enum cs_err recover_run(struct spool *sp, struct store *st, struct recover_report *rep)
{
    struct walk w = {.sp = sp, .st = st, .rep = rep};
    int64_t t0 = clock_mono_ms();
    enum cs_err rc;

    memset(rep, 0, sizeof(*rep));
    rc = spool_scan(sp, on_file, &w);
    if (!rc)
        rc = store_foreach_local(st, on_row, &w);
    if (!rc)
        rc = apply_row_fixes(&w);
    for (size_t i = 0; i < w.n; i++)
        free(w.names[i]);
    free(w.names);
    free(w.action);
    rep->elapsed_ms = clock_mono_ms() - t0;
    return rc;
}
