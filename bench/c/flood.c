// Open-loop UDP flood for bench/host-app.ts: sends DISCOVER_SERVER to 127.0.0.1:PORT at RATE
// datagrams per second for MS milliseconds, whatever comes back (replies are read and dropped).
// Bounded: at most 10 s and 1,000,000 datagrams per second; loopback only.
//   flood PORT RATE MS
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: flood PORT RATE MS\n");
    return 2;
  }
  int port = atoi(argv[1]);
  double rate = atof(argv[2]), ms = atof(argv[3]);
  if (port <= 0 || rate <= 0 || rate > 1e6 || ms <= 0 || ms > 10000) return 2;
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(s, (struct sockaddr *)&to, sizeof to) != 0) return 1;
  double start = now_ms();
  long sent = 0;
  char sink[256];
  // Sends in bursts of 1 ms worth of datagrams, then sleeps until the next millisecond.
  for (double elapsed = 0; elapsed < ms; elapsed = now_ms() - start) {
    long due = (long)(elapsed * rate / 1000.0);
    while (sent < due) {
      if (send(s, "DISCOVER_SERVER", 15, 0) < 0) break;
      sent++;
    }
    while (recv(s, sink, sizeof sink, 0) > 0) {
    }
    struct timespec tick = {0, 500000};
    nanosleep(&tick, NULL);
  }
  printf("{\"sent\":%ld,\"rate\":%.0f}\n", sent, sent * 1000.0 / (now_ms() - start));
  return 0;
}
