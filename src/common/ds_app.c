/* ds_app.c - placeholder until the application lands. */
#include "ds_app.h"

int ds_app_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return 0;
}
