// Load generator for bench/responder.ts: node --import tsx bench/load.ts <port> [durationMs] [sockets] [window]
// Each socket keeps `window` DISCOVER_SERVER requests outstanding against 127.0.0.1:<port> and
// prints one JSON line: {replies, seconds, rate, total, sent, loadCpu}; total includes the warm-up,
// loadCpu is this process's CPU in cores during the measured window (near 1 = load-bound).
import { createSocket, type Socket } from 'node:dgram';

const WARMUP_MS = 300;
const TOPUP_MS = 50;
const MAX_DURATION_MS = 10_000;
const MAX_SENT = 5_000_000;
const HOST = '127.0.0.1';
const REQUEST = Buffer.from('DISCOVER_SERVER');

function intArg(index: number, fallback: number, min: number, max: number): number {
  const raw = process.argv[index];
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`argument ${index - 1} must be an integer in [${min}, ${max}], got ${raw}`);
  }
  return value;
}

const port = intArg(2, Number.NaN, 1, 65535);
const durationMs = intArg(3, 2000, 1, MAX_DURATION_MS);
const socketCount = intArg(4, 16, 1, 1024);
const window = intArg(5, 32, 1, 4096);

interface Sender {
  socket: Socket;
  inFlight: number;
  repliesSinceTick: number;
}

let sent = 0;
let total = 0;
let measured = 0;
let measuring = false;
let stopped = false;

function send(sender: Sender, count: number): void {
  for (let i = 0; i < count && sent < MAX_SENT; i++) {
    sender.socket.send(REQUEST);
    sender.inFlight++;
    sent++;
  }
}

async function open(): Promise<Sender> {
  const socket = createSocket('udp4');
  const sender: Sender = { socket, inFlight: 0, repliesSinceTick: 0 };
  // Connected sockets only ever talk to 127.0.0.1:<port>; ICMP errors (ECONNREFUSED) are losses.
  socket.on('error', () => {});
  socket.on('message', () => {
    total++;
    if (measuring) measured++;
    sender.repliesSinceTick++;
    sender.inFlight = Math.max(0, sender.inFlight - 1);
    if (!stopped) send(sender, 1);
  });
  await new Promise<void>((resolve) => socket.bind(0, HOST, resolve));
  await new Promise<void>((resolve) => socket.connect(port, HOST, resolve));
  return sender;
}

const senders = await Promise.all(Array.from({ length: socketCount }, open));

// Every tick: a socket that got nothing back since the last tick lost what it had in flight.
const topUp = setInterval(() => {
  for (const sender of senders) {
    if (sender.repliesSinceTick === 0) sender.inFlight = 0;
    sender.repliesSinceTick = 0;
    send(sender, window - sender.inFlight);
  }
}, TOPUP_MS);

for (const sender of senders) send(sender, window);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
await sleep(WARMUP_MS);
measuring = true;
const started = performance.now();
const cpuStart = process.cpuUsage();
await sleep(durationMs);
measuring = false;
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuStart);
const loadCpu = (cpu.user + cpu.system) / 1e6 / seconds;
stopped = true;
clearInterval(topUp);
await Promise.all(senders.map((s) => new Promise<void>((resolve) => s.socket.close(resolve))));

const replies = measured;
console.log(JSON.stringify({ replies, seconds, rate: replies / seconds, total, sent, loadCpu }));
