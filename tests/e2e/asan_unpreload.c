/* Preloaded into httpd after the ASan runtime (PAPI_E2E_ASAN=1): takes LD_PRELOAD out of httpd's
 * environment as soon as it starts, so the runtime stays in httpd and the processes it forks,
 * and never reaches the programs they execute. Passenger's agents run ps, and procps' ps (like
 * anything linked with libgpg-error) deadlocks in textdomain() when libasan is preloaded. */
#include <stdlib.h>

__attribute__((constructor)) static void papi_unpreload(void)
{
    unsetenv("LD_PRELOAD");
}
