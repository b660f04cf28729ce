/* libFuzzer target for the reader of sock_diag's answers (netlink datagrams of nlmsghdr and
 * inet_diag_msg), which tell the module who owns a socket before it sends a process its connect
 * password. The input is datagrams, each after a 2-byte little-endian length (cut to what is
 * left), read one after the other as an answer is, to its end or to the first malformed message.
 * Every datagram is an exact-size copy, so ASan sees any read past its end. Checked: every socket
 * the reader passes on is counted, with fields in their ranges; an error is an errno; and when
 * the datagrams were all read cleanly and all but the last end on a 4-byte boundary, the same
 * bytes as one datagram read the same. */
#include "papi_fuzz.h"
#include "papi_tcptable.h"

#define SEQ 1

static void visit(const papi_tcp_entry *e, void *data)
{
    CHECK(e->state >= 0 && e->state <= 0xff);
    CHECK(e->uid <= 0xFFFFFFFFUL && e->inode <= 0xFFFFFFFFUL);
    ++*(unsigned long *)data;
}

/* Reads buf[0..n) as one datagram into a; its sockets are added to *visits. */
static void read_datagram(const uint8_t *buf, size_t n, papi_tcp_answer *a, unsigned long *visits)
{
    uint8_t *copy = malloc(n ? n : 1);

    CHECK(copy != NULL);
    memcpy(copy, buf, n);
    papi_tcp_parse_answer(copy, n, SEQ, visit, visits, a);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *joined = malloc(size ? size : 1);
    papi_tcp_answer split, whole;
    unsigned long visits = 0, whole_visits = 0;
    size_t at = 0, joined_n = 0;
    int aligned = 1;

    CHECK(joined != NULL);
    memset(&split, 0, sizeof(split));
    while (at + 2 <= size && !split.done && !split.malformed) {
        size_t len = (size_t)data[at] | (size_t)data[at + 1] << 8;
        at += 2;
        if (len > size - at)
            len = size - at;
        if (joined_n % 4)
            aligned = 0;
        read_datagram(data + at, len, &split, &visits);
        memcpy(joined + joined_n, data + at, len);
        joined_n += len;
        at += len;
    }
    CHECK(visits == split.sockets);
    CHECK(split.error >= 0 && split.error < 4096);
    CHECK(!split.error || split.done || split.malformed);
    if (!split.malformed && aligned) {
        memset(&whole, 0, sizeof(whole));
        read_datagram(joined, joined_n, &whole, &whole_visits);
        CHECK(!whole.malformed && whole.done == split.done && whole.error == split.error);
        CHECK(whole.sockets == split.sockets && whole_visits == visits);
    }
    free(joined);
    return 0;
}
