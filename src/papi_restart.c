#include "papi_restart.h"

apr_interval_time_t papi_restart_delay(papi_restart *r, apr_interval_time_t lived)
{
    r->quick_deaths = lived < PAPI_RESTART_QUICK ? r->quick_deaths + 1 : 0;
    if (r->quick_deaths >= PAPI_RESTART_TRIES)
        return -1;
    return r->quick_deaths < 2 ? 0 : apr_time_from_sec(1 << (r->quick_deaths - 2));
}
