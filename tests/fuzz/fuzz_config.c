/*
 * fuzz_config.c - libFuzzer target for the INI configuration parser:
 * config_load_string, then config_print_effective and config_free.
 *
 * The parser may read files named by *_file keys, time zone files and
 * ${ENV} variables; it never writes. Error text and the effective
 * configuration go to /dev/null.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *devnull(void)
{
    static FILE *f;

    if (!f && !(f = fopen("/dev/null", "w")))
        abort();
    return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config *cfg = NULL;
    char *text = malloc(size + 1);

    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (config_load_string(text, "fuzz.conf", NULL, devnull(), &cfg) == CS_OK) {
        if (!cfg)
            __builtin_trap(); /* CS_OK must come with a configuration */
        config_print_effective(cfg, devnull());
        (void)config_camera(cfg, "27");
    } else if (cfg) {
        __builtin_trap(); /* an error must leave *out NULL */
    }
    config_free(cfg);
    free(text);
    return 0;
}
