/**
 * The `spot-ingest` command line: dispatch, `--help` and `--version`, and the
 * exit code of a failure, decided by its error code (src/errors.ts): a fatal
 * error (bad usage, configuration or setup) is one line on stderr and exit 2,
 * which `start` and systemd do not restart; anything else unexpected is a bug,
 * printed with its stack, exit 1.
 */
import { describeKeys } from '../config/spec.ts';
import { FATAL_EXIT, SpotError, needsOperator } from '../errors.ts';
import { productVersion } from '../version.ts';
import { COMMAND_HELP, OVERVIEW, commandHelp, type CommandName } from './usage.ts';

const COMMANDS: Record<CommandName, (argv: string[]) => Promise<number>> = {
  start: async (argv) => (await import('./start.ts')).startCommand(argv),
  collector: async (argv) => (await import('./collector-cmd.ts')).collectorCommand(argv),
  listen: async (argv) => (await import('./listen-cmd.ts')).listenCommand(argv),
  worker: async (argv) => (await import('./worker-cmd.ts')).workerCommand(argv),
  query: async (argv) => (await import('./query-cmd.ts')).queryCommand(argv),
  status: async (argv) => (await import('./status.ts')).statusCommand(argv),
  quarantine: async (argv) => (await import('./quarantine-cmd.ts')).quarantineCommand(argv),
  ddl: async (argv) => (await import('./ddl-cmd.ts')).ddlCommand(argv),
  demo: async (argv) => (await import('./demo.ts')).demoCommand(argv),
  'config-keys': async () => {
    console.log(['| key | type | default | meaning |', '|---|---|---|---|', ...describeKeys()].join('\n'));
    return 0;
  },
};


const isCommand = (name: string | undefined): name is CommandName => name !== undefined && Object.hasOwn(COMMANDS, name);
const wantsHelp = (argv: string[]) => argv.some((a) => a === '--help' || a === '-h');

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') {
    console.log(OVERVIEW);
    return 0;
  }
  if (command === '--version' || command === '-V' || command === 'version') {
    console.log(productVersion());
    return 0;
  }
  if (command === 'help') {
    const about = rest[0];
    if (about === undefined) console.log(OVERVIEW);
    else if (isCommand(about)) console.log(commandHelp(about));
    else return unknown(about);
    return 0;
  }
  if (!isCommand(command)) return unknown(command);
  // Before any parsing: `--help` must work even where the other arguments are incomplete.
  if (wantsHelp(rest)) {
    console.log(commandHelp(command));
    return 0;
  }
  return COMMANDS[command](rest);
}

function unknown(command: string): number {
  console.error(`spot-ingest: unknown command ${JSON.stringify(command)} (commands: ${Object.keys(COMMAND_HELP).join(', ')})\n`);
  console.error(OVERVIEW);
  return FATAL_EXIT;
}

let code: number;
try {
  code = await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof SpotError && needsOperator(err)) {
    console.error(`spot-ingest: ${err.message}`);
    code = FATAL_EXIT;
  } else {
    console.error('spot-ingest: unexpected failure', err);
    code = 1;
  }
}
// Exit explicitly: an IPC channel to `start`, DuckDB or SQLite handles would otherwise keep the process alive.
process.exit(code);
