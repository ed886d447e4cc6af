#include "gancl.h"
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "devices")) {
        static char buf[65536];
        char err[1024];
        if (gan_list_devices(buf, sizeof buf, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
        fputs(buf, stdout);
        return 0;
    }
    return 2;
}
