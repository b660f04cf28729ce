/* Crafting instance directories for the unit tests, as Passenger 6.0.17's watchdog lays them
 * out (docs/ARCHITECTURE.md: an instance directory). */
#ifndef PAPI_FIXTURE_H
#define PAPI_FIXTURE_H

#include <apr_strings.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAPI_GOOD_PROPERTIES \
    "{\"instance_dir\":{\"created_at\":1795261749,\"created_at_monotonic_usec\":76584567," \
    "\"major_version\":4,\"minor_version\":0},\"instance_id\":\"touotx-NiZRic-uRiNHm\"," \
    "\"integration_mode\":\"apache\",\"name\":\"UKbNs4kX\",\"passenger_version\":\"6.0.17\"," \
    "\"server_software\":\"Apache/2.4.71 (Debian) Phusion_Passenger/6.0.17\",\"watchdog_pid\":3395}\n"

static inline void papi_fx_write(const char *dir, const char *name, const char *text, mode_t mode)
{
    char buf[4096];
    FILE *f;

    snprintf(buf, sizeof(buf), "%s/%s", dir, name);
    f = fopen(buf, "w");
    if (!f)
        abort();
    fputs(text, f);
    fclose(f);
    chmod(buf, mode);
}

/* A fresh temporary directory under /tmp (short, so socket paths fit). */
static inline const char *papi_fx_tempdir(apr_pool_t *p)
{
    char *dir = apr_pstrdup(p, "/tmp/papi-unit-XXXXXX");

    if (!mkdtemp(dir))
        abort();
    chmod(dir, 0755);
    return dir;
}

/* A complete instance directory registry/name with everything a good instance has except the
 * held lock; returns its path. */
static inline const char *papi_fx_instance(apr_pool_t *p, const char *registry, const char *name)
{
    const char *dir = apr_pstrcat(p, registry, "/", name, NULL);

    mkdir(dir, 0755);
    chmod(dir, 0755);
    mkdir(apr_pstrcat(p, dir, "/agents.s", NULL), 0755);
    mkdir(apr_pstrcat(p, dir, "/apps.s", NULL), 0711);
    papi_fx_write(dir, "properties.json", PAPI_GOOD_PROPERTIES, 0644);
    papi_fx_write(dir, "creation_finalized", "", 0644);
    papi_fx_write(dir, "lock", "", 0644);
    papi_fx_write(dir, "watchdog.pid", "3395", 0644);
    papi_fx_write(dir, "core.pid", "3399", 0644);
    papi_fx_write(dir, "read_only_admin_password.txt", "RoPassword0123456789abcd", 0600);
    papi_fx_write(dir, "full_admin_password.txt", "FullPassword0123456789ab", 0600);
    return dir;
}

/* Holds the instance's lock the way the watchdog does (flock, LOCK_EX); returns the fd. */
static inline int papi_fx_hold_lock(apr_pool_t *p, const char *dir)
{
    int fd = open(apr_pstrcat(p, dir, "/lock", NULL), O_RDONLY);

    if (fd < 0 || flock(fd, LOCK_EX) != 0)
        abort();
    return fd;
}

/* rm -rf, for tear-down. */
static inline void papi_fx_remove(apr_pool_t *p, const char *dir)
{
    if (system(apr_pstrcat(p, "rm -rf '", dir, "'", NULL)) != 0)
        abort();
}

#endif
