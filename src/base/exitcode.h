/*
 * exitcode.h - camsnap's process exit statuses: a contract with scripts,
 * cron and systemd (documented in --help, camsnap(1) and the README), the
 * same for every command.
 */
#ifndef CAMSNAP_EXITCODE_H
#define CAMSNAP_EXITCODE_H

enum cli_exit {
    EXIT_OK_ = 0,        /* everything asked for was done */
    EXIT_PARTIAL = 1,    /* ran, but something failed or is still pending */
    EXIT_USAGE = 2,      /* bad command line or configuration */
    EXIT_RUNTIME = 3,    /* state directory, database or disk unusable */
    EXIT_LOCKED = 4,     /* another camsnap holds the state directory */
};

#endif
