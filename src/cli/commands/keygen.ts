import { generateKey } from '../../security/keys.js';
import { parseFlags } from '../args.js';
import { type CliIo, println } from '../io.js';

export const help = `Usage: beckon keygen

Print a new random key: 32 bytes of URL-safe base64. It works as a Fernet key
(--encryption --secret-key, DISCOVERY_SECRET_KEY) and as a shared authentication key
(--auth-key, DISCOVERY_AUTH_KEYS).

Options:
  -h, --help   show this help`;

/** \`beckon keygen\`: prints a new key. */
export async function run(args: string[], io: CliIo): Promise<number> {
  const values = parseFlags(args, { help: { type: 'boolean', short: 'h' } });
  println(io.stdout, values.help ? help : generateKey());
  return 0;
}
