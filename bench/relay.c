/*
 * bench/relay.c - the "raw limit" of the benchmark: a TCP relay that does no work.
 *
 * Every connection accepted on 127.0.0.1:LISTEN gets its own connection to
 * 127.0.0.1:TARGET, and a thread moves the bytes with splice(2) through a pipe
 * (socket -> pipe -> socket, never copied to user space), so what it costs is the
 * kernel's loopback path and nothing else.  On EOF from the sender it half-closes
 * the target side and closes both.  Only the sender -> target direction is relayed
 * (PowerDNS and syslog senders never read).
 *
 * Ownership: each relay thread owns its two sockets and its pipe.  The main thread
 * only accepts.  Linux only (splice); a benchmark tool, not part of dnsstream.
 *
 * Usage: relay LISTEN_PORT TARGET_PORT [--port-file FILE]
 *   LISTEN_PORT 0 picks a free port; --port-file receives the bound port.  Runs until
 *   SIGTERM/SIGINT.  Prints "relay: listening on PORT" to stderr when ready.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PIPE_BYTES (1 << 20)

static unsigned target_port;

struct pair {
    int in, out;
};

static int connect_target(void)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)target_port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(s);
        return -1;
    }
    return s;
}

/* Move everything from p->in to p->out until EOF or an error. */
static void *relay_thread(void *arg)
{
    struct pair *p = arg;
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        perror("relay: pipe2");
        goto out;
    }
    (void)fcntl(pfd[1], F_SETPIPE_SZ, PIPE_BYTES);
    for (;;) {
        ssize_t n = splice(p->in, NULL, pfd[1], NULL, PIPE_BYTES, SPLICE_F_MOVE | SPLICE_F_MORE);
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("relay: splice from sender");
            break;
        }
        while (n > 0) {
            ssize_t w =
                splice(pfd[0], NULL, p->out, NULL, (size_t)n, SPLICE_F_MOVE | SPLICE_F_MORE);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                perror("relay: splice to target");
                goto done;
            }
            n -= w;
        }
    }
done:
    close(pfd[0]);
    close(pfd[1]);
out:
    shutdown(p->out, SHUT_WR);
    close(p->out);
    close(p->in);
    free(p);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *port_file = NULL;
    if (argc != 3 && !(argc == 5 && strcmp(argv[3], "--port-file") == 0)) {
        fprintf(stderr, "usage: relay LISTEN_PORT TARGET_PORT [--port-file FILE]\n");
        return 2;
    }
    if (argc == 5)
        port_file = argv[4];
    unsigned listen_port = (unsigned)strtoul(argv[1], NULL, 10);
    target_port = (unsigned)strtoul(argv[2], NULL, 10);
    signal(SIGPIPE, SIG_IGN);

    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)listen_port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(ls, 128) != 0) {
        perror("relay: bind/listen");
        return 1;
    }
    socklen_t al = sizeof(a);
    getsockname(ls, (struct sockaddr *)&a, &al);
    if (port_file) {
        FILE *f = fopen(port_file, "w");
        if (!f) {
            perror("relay: port file");
            return 1;
        }
        fprintf(f, "%u\n", (unsigned)ntohs(a.sin_port));
        fclose(f);
    }
    fprintf(stderr, "relay: listening on %u\n", (unsigned)ntohs(a.sin_port));

    for (;;) {
        int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            perror("relay: accept");
            return 1;
        }
        int t = connect_target();
        if (t < 0) {
            perror("relay: connect to target");
            close(c);
            continue;
        }
        struct pair *p = malloc(sizeof(*p));
        if (!p)
            abort();
        p->in = c;
        p->out = t;
        pthread_t th;
        if (pthread_create(&th, NULL, relay_thread, p) != 0) {
            fprintf(stderr, "relay: cannot start a thread\n");
            close(c);
            close(t);
            free(p);
            continue;
        }
        pthread_detach(th);
    }
}
