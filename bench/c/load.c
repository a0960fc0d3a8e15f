// Load generator for bench/responder.ts, in C so that the generator is never the bottleneck.
// Usage: load <port> [durationMs] [sockets] [window]
// Each of `sockets` connected UDP sockets keeps `window` DISCOVER_SERVER requests outstanding
// against 127.0.0.1:<port>; a socket that hears nothing for 50 ms is topped up again (its
// requests were lost). After a 300 ms warm-up it counts replies for durationMs and prints
// {"replies":N,"seconds":S,"rate":R,"total":T,"sent":X,"loadCpu":C}. Bounded: at most 10 s of
// load and 50 million requests, loopback only.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SOCKETS 1024
#define MAX_SENT 50000000L
#define WARMUP_MS 300
#define TOPUP_MS 50

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static double cpu_s(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

static long sent = 0;
static const char request[] = "DISCOVER_SERVER";

static int send_some(int fd, int count) {
  int done = 0;
  for (; done < count && sent < MAX_SENT; done++, sent++) {
    if (send(fd, request, sizeof request - 1, MSG_DONTWAIT) < 0) break;
  }
  return done;
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: load <port> [durationMs] [sockets] [window]\n"); return 2; }
  int port = atoi(argv[1]);
  int duration = argc > 2 ? atoi(argv[2]) : 2000;
  int count = argc > 3 ? atoi(argv[3]) : 16;
  int window = argc > 4 ? atoi(argv[4]) : 32;
  if (port < 1 || port > 65535 || duration < 1 || duration > 10000 || count < 1 ||
      count > MAX_SOCKETS || window < 1 || window > 4096) {
    fprintf(stderr, "load: bad arguments\n");
    return 2;
  }
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  static struct pollfd fds[MAX_SOCKETS];
  static int inflight[MAX_SOCKETS], heard[MAX_SOCKETS];
  for (int i = 0; i < count; i++) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof to) < 0) { perror("socket"); return 1; }
    fds[i] = (struct pollfd){.fd = fd, .events = POLLIN};
    inflight[i] = send_some(fd, window);
  }
  long total = 0, measured = 0;
  double start = now_ms(), measure_from = start + WARMUP_MS, end = measure_from + duration;
  double next_topup = start + TOPUP_MS, cpu_from = 0;
  int measuring = 0;
  char buf[2048];
  for (;;) {
    double t = now_ms();
    if (!measuring && t >= measure_from) { measuring = 1; cpu_from = cpu_s(); }
    if (t >= end) break;
    if (t >= next_topup) {
      for (int i = 0; i < count; i++) {
        if (!heard[i]) inflight[i] = 0;
        heard[i] = 0;
        inflight[i] += send_some(fds[i].fd, window - inflight[i]);
      }
      next_topup = t + TOPUP_MS;
    }
    if (poll(fds, count, 10) <= 0) continue;
    for (int i = 0; i < count; i++) {
      if (!(fds[i].revents & POLLIN)) continue;
      for (;;) {
        ssize_t n = recv(fds[i].fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0) break; // EAGAIN, or ECONNREFUSED from an ICMP error: a loss
        total++;
        if (measuring) measured++;
        heard[i] = 1;
        if (inflight[i] > 0) inflight[i]--;
        inflight[i] += send_some(fds[i].fd, 1);
      }
    }
  }
  double seconds = (now_ms() - measure_from) / 1e3;
  double load_cpu = (cpu_s() - cpu_from) / seconds;
  for (int i = 0; i < count; i++) close(fds[i].fd);
  printf("{\"replies\":%ld,\"seconds\":%.4f,\"rate\":%.1f,\"total\":%ld,\"sent\":%ld,\"loadCpu\":%.3f}\n",
         measured, seconds, measured / seconds, total, sent, load_cpu);
  return 0;
}
