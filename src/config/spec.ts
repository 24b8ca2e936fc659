/**
 * The configuration spec, declared once in code. The same spec validates a
 * Spot `ingest_conf.json`, fills defaults, and prints the key reference
 * (`spot-ingest config-keys`, pasted into the README).
 */
import { ALL_DISSECTOR_NAMES } from '../dissect/registry.ts';

export type KeySpec =
  | { kind: 'string'; doc: string; default?: string; required?: boolean; oneOf?: readonly string[] }
  | { kind: 'int'; doc: string; default?: number; min?: number; required?: boolean }
  | { kind: 'number'; doc: string; default?: number; min?: number }
  | { kind: 'bool'; doc: string; default?: boolean }
  | { kind: 'string-list'; doc: string; default?: readonly string[] }
  | { kind: 'string-or-list'; doc: string; default?: string }
  | { kind: 'object'; doc: string; keys: Readonly<Record<string, KeySpec>> }
  | { kind: 'map'; doc: string; of: KeySpec & { kind: 'object' } }
  /** Accepted as Spot had it, not used by spot-ingest; validation emits a notice. */
  | { kind: 'ignored'; doc: string; notice: string };

export const PIPELINE_TYPES = ['flow', 'dns', 'proxy'] as const;

const pipelineSpec = {
  kind: 'object',
  doc: 'One named pipeline; several may share a type.',
  keys: {
    type: { kind: 'string', required: true, oneOf: PIPELINE_TYPES, doc: 'Table the pipeline fills: flow, dns or proxy.' },
    collector_path: { kind: 'string', required: true, doc: 'Directory the collector watches for new files.' },
    local_staging: { kind: 'string', doc: 'Scratch directory for temporary files (default: the system temp directory).' },
    supported_files: {
      kind: 'string-list',
      doc: 'File names to take: each entry matches as a plain substring (Spot: `nfcapd.`, `.pcap`, `.log`) or as a regular expression. Default by type: flow `nfcapd.`, dns `.pcap`, proxy `.log`. In-progress names (`nfcapd.current.*`, dot files, `*.tmp`, `*.part`) are never taken.',
    },
    process_opt: { kind: 'string', default: '', doc: 'Extra options for the dissector tool, split into words without a shell (flow: appended to nfdump, so a flow pipeline with process_opt uses the nfdump dissector unless told otherwise; dns with tshark: Spot\'s field list is built in, so a Spot `-T fields ...` value is ignored with a notice).' },
    pkt_num: { kind: 'int', min: 1, default: 650000, doc: 'Spot: packets per pcap split. Here: packets per chunk when a worker splits a large capture.' },
    pcap_split_staging: { kind: 'ignored', doc: 'Spot: editcap split directory.', notice: 'captures are streamed, never split with editcap' },
    parser: { kind: 'string', default: 'bluecoat', oneOf: ['bluecoat', 'bluecoat.py'], doc: 'Proxy log parser (Spot: `bluecoat.py`).' },
    dissector: {
      kind: 'string',
      oneOf: ALL_DISSECTOR_NAMES,
      doc: 'New. Which dissector to use: dns `tshark` (Spot\'s exact command) or `native`; flow `native` (reads nfcapd files itself) or `nfdump` (Spot\'s exact command); proxy `bluecoat`. Default: the first for the type (flow with a process_opt: `nfdump`).',
    },
    ipv6_addresses: { kind: 'bool', default: true, doc: 'New. dns: fill `ip_src`/`ip_dst` of IPv6 packets from the IPv6 header (Spot\'s tshark field list leaves them empty, losing the client of every IPv6 query). `false`: Spot\'s exact rows.' },
    settle_seconds: { kind: 'number', min: 0, default: 2, doc: 'New. A file is complete once its size and mtime have not changed for this long (files renamed into place are complete at once after that wait).' },
    listen: {
      kind: 'string-list',
      doc: 'New (flow only). UDP addresses to receive NetFlow v5/v9, IPFIX and sFlow v5 on (each address takes all of them, told apart per datagram), a string or a list: `udp://0.0.0.0:2055`, `udp://[::]:4739`, `udp://0.0.0.0:6343` (the sFlow port). `start` then runs a listener that journals every datagram (fsync at least every 200 ms) and rotates the journal into segment files in `collector_path`, which are ingested like any other input. See "Live collection".',
    },
    listen_segment_seconds: { kind: 'number', min: 1, default: 60, doc: 'New. A listener segment is closed and handed to the collector after this many seconds (if it holds any datagram).' },
    listen_segment_bytes: { kind: 'int', min: 65536, default: 67108864, doc: 'New. ... or once it reaches this many bytes.' },
    listen_file_side_nice: { kind: 'int', min: 0, default: 19, doc: 'New. Beside a listener, `start` runs the collector and the workers this many nice levels below the listener (capped at nice 19; 0: the same priority). Under CPU contention the socket, whose buffer holds well under a second, is served first; segments wait as files. Idle CPU still goes to the workers.' },
    small_file_bytes: { kind: 'int', min: 0, doc: 'New. Files up to this size are dissected by the collector and travel as record batches; larger ones travel as a reference to the archived original (default: kafka.message_size; 0 in embedded mode with a local store, where every file goes by reference and the workers dissect it).' },
  },
} as const satisfies KeySpec;

export const CONFIG_SPEC = {
  kind: 'object',
  doc: 'ingest_conf.json',
  keys: {
    dbname: { kind: 'string', default: 'spot', doc: 'Hive database holding the tables.' },
    hdfs_app_path: { kind: 'string', required: true, doc: 'Application root: a local absolute path (embedded store) or `hdfs://namenode:port/path` (HDFS over WebHDFS, see `hdfs.*`; a plain absolute path is on HDFS when `hdfs.webhdfs_url` is set). Tables live under `<root>/<type>/hive`.' },
    collector_processes: { kind: 'int', min: 1, default: 1, doc: 'Files dissected in parallel by one collector.' },
    ingestion_interval: { kind: 'number', min: 0, default: 1, doc: 'Seconds between polls of the collector path.' },
    state_path: { kind: 'string', doc: 'New. Local directory for the ledger and the embedded queue (default: `<hdfs_app_path>/.spot-ingest` for a local root, `~/.spot-ingest` otherwise).' },
    'spark-streaming': { kind: 'ignored', doc: 'Spot\'s Spark streaming listener settings.', notice: 'spot-ingest has no Spark listener; these settings are not used' },
    kafka: {
      kind: 'object',
      doc: 'Queue settings. Embedded queue when `kafka_server` is empty or absent.',
      keys: {
        kafka_server: { kind: 'string-or-list', default: '', doc: 'Broker host, `host:port`, comma-separated list or JSON list. Empty: embedded queue.' },
        kafka_port: { kind: 'int', min: 1, default: 9092, doc: 'Port for brokers given without one.' },
        zookeper_server: { kind: 'ignored', doc: 'Spot: ZooKeeper host (sic).', notice: 'ZooKeeper is obsolete with KRaft brokers' },
        zookeper_port: { kind: 'ignored', doc: 'Spot: ZooKeeper port (sic).', notice: 'ZooKeeper is obsolete with KRaft brokers' },
        message_size: { kind: 'int', min: 1024, default: 900000, doc: 'Largest message, in bytes.' },
        max_request_size: { kind: 'int', min: 1024, default: 1048576, doc: 'Record batches are chunked to stay under this many bytes.' },
        tls: {
          kind: 'object',
          doc: 'New. TLS to the brokers.',
          keys: {
            enabled: { kind: 'bool', default: false, doc: 'New. Connect with TLS.' },
            ca_file: { kind: 'string', doc: 'New. PEM file of the CA that signed the brokers\' certificates (default: the system CAs).' },
            cert_file: { kind: 'string', doc: 'New. PEM client certificate, for mutual TLS.' },
            key_file: { kind: 'string', doc: 'New. PEM private key of the client certificate.' },
            reject_unauthorized: { kind: 'bool', default: true, doc: 'New. Refuse brokers whose certificate does not verify.' },
          },
        },
        sasl: {
          kind: 'object',
          doc: 'New. SASL authentication to the brokers.',
          keys: {
            mechanism: { kind: 'string', oneOf: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'], doc: 'New. SASL mechanism; absent: no SASL.' },
            username: { kind: 'string', doc: 'New. SASL user.' },
            password: { kind: 'string', doc: 'New. SASL password (or set it in the environment variable SPOT_KAFKA_PASSWORD).' },
          },
        },
      },
    },
    hdfs: {
      kind: 'object',
      doc: 'New. HDFS store settings, used when `hdfs_app_path` is `hdfs://namenode:port/path` (or a plain absolute path with `hdfs.webhdfs_url` set).',
      keys: {
        webhdfs_url: { kind: 'string', doc: 'New. WebHDFS endpoint of the NameNode, `http(s)://namenode:9870` (default: the namenode host of `hdfs_app_path` on port 9870). Setting it makes a plain absolute `hdfs_app_path` an HDFS path.' },
        auth: { kind: 'string', default: 'simple', oneOf: ['simple', 'kerberos', 'delegation'], doc: 'New. `simple`: requests carry `user.name` (hadoop.security.authentication=simple). `kerberos`: SPNEGO with the ticket from `kinit` (needs the optional npm package `kerberos`). `delegation`: a token from `hdfs fetchdt`.' },
        user: { kind: 'string', doc: 'New. User for simple auth (default: $HADOOP_USER_NAME, else the OS user).' },
        kerberos_principal: { kind: 'string', doc: 'New. Service principal of the NameNode\'s HTTP endpoint for SPNEGO, `HTTP@namenode.example.com` (default: `HTTP@<webhdfs host>`). The client principal is the one of the `kinit` ticket cache (KRB5CCNAME).' },
        delegation_token: { kind: 'string', doc: 'New. Delegation token for `auth: delegation` (or set SPOT_HDFS_DELEGATION_TOKEN).' },
        retry_seconds: { kind: 'number', min: 1, default: 120, doc: 'New. How long one HDFS operation is retried with backoff while a NameNode or DataNode is unavailable; after that the message is retried as a whole (nothing is marked done before HDFS has it).' },
      },
    },
    hive: {
      kind: 'object',
      doc: 'New. Hive Metastore registration. Without `metastore_uri` no catalog is used (run `spot-ingest ddl` yourself).',
      keys: {
        metastore_uri: { kind: 'string', default: '', doc: 'New. `thrift://host:9083` (hive.metastore.uris; the first of a comma-separated list is used). When set, workers create the `dbname` database and the tables if missing and register every new hour partition in the background, retried, never blocking ingest. A table\'s directory (`<hdfs_app_path>/<table>/hive`) is made on the store, as the store\'s user, before the table is created: a metastore makes a missing location itself, as the user it runs as, and the workers could then not write below it.' },
        location: { kind: 'string', doc: 'New. The table root as the metastore should record it (default: `hdfs_app_path`), for a namenode name that differs between the ingest host and the cluster.' },
      },
    },
    pipelines: { kind: 'map', doc: 'Named pipelines.', of: pipelineSpec },
  },
} as const satisfies KeySpec;

/** Markdown table of every key, from the spec. */
export function describeKeys(spec: KeySpec = CONFIG_SPEC, prefix = ''): string[] {
  const lines: string[] = [];
  if (spec.kind === 'object') {
    for (const [key, child] of Object.entries(spec.keys)) lines.push(...describeKeys(child, prefix ? `${prefix}.${key}` : key));
    return lines;
  }
  if (spec.kind === 'map') return describeKeys(spec.of, `${prefix}.<name>`);
  const type = spec.kind === 'ignored' ? 'any (ignored)' : spec.kind;
  const dflt = 'default' in spec && spec.default !== undefined ? `\`${JSON.stringify(spec.default)}\`` : ('required' in spec && spec.required ? 'required' : '');
  const oneOf = 'oneOf' in spec && spec.oneOf ? ` One of: ${spec.oneOf.join(', ')}.` : '';
  const notice = spec.kind === 'ignored' ? ` Accepted, not used: ${spec.notice}.` : '';
  lines.push(`| \`${prefix}\` | ${type} | ${dflt} | ${spec.doc}${oneOf}${notice} |`);
  return lines;
}
