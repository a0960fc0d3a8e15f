// The practical ceiling for bench/responder.ts: a single-threaded UDP responder that reads and
// answers in batches with recvmmsg/sendmmsg. It answers DISCOVER_SERVER with the same reply our
// responder gives on loopback (SERVER_IP:127.0.0.1:8000) and anything else with nothing.
// Usage: responder [port]   (0 = any free port); prints "ready <port>" and runs until SIGTERM.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
#define BUFSZ 1024

static volatile sig_atomic_t stopping = 0;
static void on_term(int sig) { (void)sig; stopping = 1; }

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 0;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) { perror("socket"); return 1; }
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) { perror("bind"); return 1; }
  socklen_t len = sizeof addr;
  getsockname(fd, (struct sockaddr *)&addr, &len);
  struct sigaction sa = {.sa_handler = on_term};
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  printf("ready %d\n", ntohs(addr.sin_port));
  fflush(stdout);

  static const char request[] = "DISCOVER_SERVER";
  static const char reply[] = "SERVER_IP:127.0.0.1:8000";
  static char bufs[BATCH][BUFSZ];
  struct sockaddr_in from[BATCH];
  struct iovec iov[BATCH], out_iov[BATCH];
  struct mmsghdr in[BATCH], out[BATCH];
  for (int i = 0; i < BATCH; i++) {
    iov[i] = (struct iovec){.iov_base = bufs[i], .iov_len = BUFSZ};
    in[i].msg_hdr = (struct msghdr){.msg_name = &from[i], .msg_namelen = sizeof from[i],
                                    .msg_iov = &iov[i], .msg_iovlen = 1};
    out_iov[i] = (struct iovec){.iov_base = (void *)reply, .iov_len = sizeof reply - 1};
  }
  while (!stopping) {
    for (int i = 0; i < BATCH; i++) in[i].msg_hdr.msg_namelen = sizeof from[i];
    int n = recvmmsg(fd, in, BATCH, MSG_WAITFORONE, NULL);
    if (n < 0) continue; // EINTR on SIGTERM, or an ICMP error: go on
    int k = 0;
    for (int i = 0; i < n; i++) {
      if (in[i].msg_len != sizeof request - 1 || memcmp(bufs[i], request, sizeof request - 1)) continue;
      out[k].msg_hdr = (struct msghdr){.msg_name = &from[i], .msg_namelen = in[i].msg_hdr.msg_namelen,
                                       .msg_iov = &out_iov[k], .msg_iovlen = 1};
      k++;
    }
    for (int sent = 0; sent < k;) {
      int m = sendmmsg(fd, out + sent, k - sent, 0);
      if (m <= 0) break;
      sent += m;
    }
  }
  close(fd);
  return 0;
}
