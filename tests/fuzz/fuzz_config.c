/*
 * fuzz_config.c - libFuzzer target for the configuration loader: any bytes, as a
 * NUL-terminated text, into ds_config_load_string.  It must not crash, read out of
 * bounds or leak, whether the text is accepted or refused; an accepted text must
 * give a configuration with an input and a destination, and a refused one an
 * error message and an empty configuration.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ds_config.h"
#include "ds_err.h"
#include "ds_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;

    struct ds_config cfg;
    char err[256];
    int rc = ds_config_load_string("fuzz.conf", text, &cfg, err, sizeof(err));
    if (rc == DS_OK) {
        if (cfg.n_inputs == 0 || (cfg.n_outputs == 0 && cfg.n_forwarders == 0) || err[0])
            abort();
        ds_config_free(&cfg);
    } else if (!err[0] || cfg.source || cfg.inputs || cfg.outputs || cfg.forwarders) {
        abort();
    }
    free(text);
    return 0;
}
