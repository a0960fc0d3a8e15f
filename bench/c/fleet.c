// A fleet of simulated responders for bench/fleet.ts: answers every discovery request with
// COUNT replies, each from its own source address (BASE, BASE+1, ...), as COUNT real servers on
// one LAN would. Replies go out through a raw socket so that no address needs configuring.
// Each reply waits a random delay in [MIN_MS, MAX_MS] (0 0: all at once, the worst case).
// Runs only inside a bench namespace; exits after SECONDS or 100 requests, whichever is first.
//
//   fleet PORT BASE COUNT HTTP_PORT MIN_MS MAX_MS SECONDS
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_COUNT 65536
#define MAX_REQUESTS 100

struct slot {
  double at_ms;
  unsigned index;
};

static int by_time(const void *a, const void *b) {
  double d = ((const struct slot *)a)->at_ms - ((const struct slot *)b)->at_ms;
  return (d > 0) - (d < 0);
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void sleep_until(double at_ms) {
  double wait = at_ms - now_ms();
  if (wait <= 0) return;
  struct timespec t = {(time_t)(wait / 1e3), (long)(((long long)(wait * 1e6)) % 1000000000LL)};
  nanosleep(&t, NULL);
}

// Whether this process's network namespace is one of those in /run/netns.
static int in_named_netns(void) {
  struct stat own;
  if (stat("/proc/self/ns/net", &own) != 0) return 0;
  DIR *dir = opendir("/run/netns");
  if (dir == NULL) return 0;
  int found = 0;
  for (struct dirent *entry; !found && (entry = readdir(dir)) != NULL;) {
    char path[512];
    struct stat named;
    snprintf(path, sizeof path, "/run/netns/%s", entry->d_name);
    found = entry->d_name[0] != '.' && stat(path, &named) == 0 && named.st_dev == own.st_dev &&
            named.st_ino == own.st_ino;
  }
  closedir(dir);
  return found;
}

int main(int argc, char **argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: fleet PORT BASE COUNT HTTP_PORT MIN_MS MAX_MS SECONDS\n");
    return 2;
  }
  int port = atoi(argv[1]);
  struct in_addr base;
  if (inet_pton(AF_INET, argv[2], &base) != 1) return 2;
  unsigned count = (unsigned)atoi(argv[3]);
  int http_port = atoi(argv[4]);
  double min_ms = atof(argv[5]), max_ms = atof(argv[6]);
  double deadline = now_ms() + atof(argv[7]) * 1e3;
  if (count == 0 || count > MAX_COUNT || max_ms < min_ms) return 2;
  // It forges source addresses: refuse to run outside a namespace made by `ip netns add`.
  if (!in_named_netns()) {
    fprintf(stderr, "fleet: runs only inside a network namespace (ip netns exec)\n");
    return 2;
  }

  int listener = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in local = {.sin_family = AF_INET, .sin_port = htons(port)};
  if (bind(listener, (struct sockaddr *)&local, sizeof local) != 0) {
    perror("bind");
    return 1;
  }
  struct timeval tick = {0, 100000};
  setsockopt(listener, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof tick);
  int raw = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
  if (raw < 0) {
    perror("raw socket");
    return 1;
  }
  struct slot *slots = calloc(count, sizeof *slots);
  if (slots == NULL) return 1;
  srand48(getpid());
  printf("ready %d\n", port);
  fflush(stdout);

  for (int requests = 0; requests < MAX_REQUESTS && now_ms() < deadline;) {
    char request[2048];
    struct sockaddr_in client;
    socklen_t length = sizeof client;
    ssize_t n = recvfrom(listener, request, sizeof request, 0, (struct sockaddr *)&client, &length);
    if (n < 0) continue;
    if (n != 15 || memcmp(request, "DISCOVER_SERVER", 15) != 0) continue;
    requests++;
    double start = now_ms();
    for (unsigned i = 0; i < count; i++) {
      slots[i].index = i;
      slots[i].at_ms = start + min_ms + drand48() * (max_ms - min_ms);
    }
    qsort(slots, count, sizeof *slots, by_time);
    unsigned sent = 0;
    for (unsigned i = 0; i < count && now_ms() < deadline; i++) {
      sleep_until(slots[i].at_ms);
      struct in_addr source = {htonl(ntohl(base.s_addr) + slots[i].index)};
      char packet[128];
      struct iphdr *ip = (struct iphdr *)packet;
      struct udphdr *udp = (struct udphdr *)(packet + sizeof *ip);
      char *payload = packet + sizeof *ip + sizeof *udp;
      int size = snprintf(payload, 64, "SERVER_IP:%s:%d", inet_ntoa(source), http_port);
      memset(packet, 0, sizeof *ip + sizeof *udp);
      ip->version = 4;
      ip->ihl = 5;
      ip->ttl = 64;
      ip->protocol = IPPROTO_UDP;
      ip->saddr = source.s_addr;
      ip->daddr = client.sin_addr.s_addr;
      ip->tot_len = htons(sizeof *ip + sizeof *udp + size); // the kernel fills id and checksum
      udp->source = htons(port);
      udp->dest = client.sin_port;
      udp->len = htons(sizeof *udp + size);  // checksum 0: none, allowed for UDP over IPv4
      if (sendto(raw, packet, sizeof *ip + sizeof *udp + size, 0, (struct sockaddr *)&client,
                 sizeof client) > 0)
        sent++;
    }
    printf("{\"request\":%d,\"sent\":%u,\"ms\":%.1f}\n", requests, sent, now_ms() - start);
    fflush(stdout);
  }
  return 0;
}
