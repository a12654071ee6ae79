/* cmd_cleanup.c - `camsnap cleanup [--older-than 30d] [--dry-run]
 * [--include-pending]`: removes delivered stills' local files and old
 * records; never a pending or quarantined still unless told so. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "log.h"
#include "units.h"

#define BATCH 256

static const char usage[] =
    "usage: camsnap [-c FILE] cleanup [--older-than DURATION] [--dry-run] [--include-pending]\n"
    "\n"
    "Removes the local files of stills already delivered, and the records of\n"
    "stills captured before the cut-off (delivered or missing). Pending, failed\n"
    "and quarantined stills are never touched unless --include-pending is given.\n"
    "Prints each still removed (or, with --dry-run, that would be removed).\n"
    "\n"
    "  --older-than DURATION  cut-off age by capture time, with its unit: 30d, 12h,\n"
    "                         90m (default 30d; a bare number is refused)\n"
    "  --dry-run              only print what would be removed\n"
    "  --include-pending      also remove stills not delivered (their data is lost!)\n"
    "  -h, --help             this help\n"
    "\n"
    "Exit status: 0 ok, 2 usage or configuration error, 3 runtime error.\n";

struct totals {
    int64_t rows, files, bytes;
};

static int remove_one(struct cli_state *st, const struct store_old *o, bool dry,
                      struct totals *t)
{
    bool exists = false;
    int64_t size = 0;
    enum cs_err rc = spool_stat(st->spool, o->filename, &exists, &size);

    printf("%s %s (%s%s)\n", dry ? "would remove" : "removed", o->filename,
           store_status_name(o->status), exists ? ", file" : ", record only");
    t->rows++;
    if (exists) {
        t->files++;
        t->bytes += size;
    }
    if (dry)
        return EXIT_OK_;
    if (!rc && exists && (rc = spool_remove(st->spool, o->filename))) {
        log_errorx(NULL, "cannot remove %s: %s", o->filename, cs_strerror(rc));
        return EXIT_RUNTIME;
    }
    if ((rc = store_delete(st->store, o->id))) {
        log_errorx(NULL, "cannot delete record of %s: %s", o->filename,
                   store_last_error(st->store));
        return EXIT_RUNTIME;
    }
    return EXIT_OK_;
}

static int cleanup(struct cli_state *st, int64_t older_ms, bool dry, bool include_pending)
{
    struct store_old rows[BATCH];
    int64_t cutoff = clock_wall_ms() - older_ms, after = 0;
    struct totals t = {0};
    char size[32], iso[40];
    size_t n;
    int ex = EXIT_OK_;

    printf("cleanup: stills captured before %s%s\n",
           clock_format_iso(cutoff, 0, iso, sizeof(iso)),
           include_pending ? ", INCLUDING pending ones" : "");
    do {
        if (store_old_rows(st->store, cutoff, include_pending, after, rows, BATCH, &n)) {
            log_errorx(NULL, "%s", store_last_error(st->store));
            return EXIT_RUNTIME;
        }
        for (size_t i = 0; i < n && !ex; i++)
            ex = remove_one(st, &rows[i], dry, &t);
        if (n)
            after = rows[n - 1].id;
    } while (n == BATCH && !ex);
    printf("cleanup: %s %lld record(s) and %lld file(s), %s\n", dry ? "would remove" : "removed",
           (long long)t.rows, (long long)t.files, units_format_size(t.bytes, size, sizeof(size)));
    return ex;
}

int cmd_cleanup(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"older-than", required_argument, NULL, 'o'},
        {"dry-run", no_argument, NULL, 'n'},
        {"include-pending", no_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    int64_t older = 30LL * 86400 * 1000;
    bool dry = false, pending = false;
    struct cli_state st;
    int c, ex;

    while ((c = cli_getopt(cli, argc, argv, "h", opts)) != -1) {
        switch (c) {
        case 'o':
            if ((ex = cli_duration(cli, "--older-than", optarg, "d", &older)))
                return ex;
            break;
        case 'n': dry = true; break;
        case 'p': pending = true; break;
        case 'h': return cli_help(usage);
        default: return EXIT_USAGE;
        }
    }
    if ((ex = cli_no_operands(cli, argc, argv)))
        return ex;
    if ((ex = cli_open_state(cli, CLI_EXCLUSIVE, &st)))
        return ex;
    ex = cleanup(&st, older, dry, pending);
    cli_close_state(&st);
    return ex;
}
