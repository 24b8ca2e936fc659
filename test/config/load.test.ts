import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load.ts';
import { describeKeys } from '../../src/config/spec.ts';

// The example configuration shipped with Apache Spot, numbers as strings and all.
const spotExample = {
  dbname: 'spot',
  hdfs_app_path: '/tmp/spot-app',
  collector_processes: 5,
  ingestion_interval: 1,
  'spark-streaming': { driver_memory: '1g', spark_exec: '1', spark_executor_memory: '2g', spark_executor_cores: '2', spark_batch_size: '30' },
  kafka: { kafka_server: '', kafka_port: '9092', zookeper_server: 'zk', zookeper_port: '2181', message_size: 900000, max_request_size: 1048576 },
  pipelines: {
    flow_internals: { type: 'flow', collector_path: '/collect/flow', local_staging: '/tmp/', process_opt: '' },
    dns_server_1: {
      type: 'dns', collector_path: '/collect/dns', local_staging: '/tmp/', pkt_num: '650000', pcap_split_staging: '/tmp',
      process_opt: "-E separator=, -E header=y -E occurrence=f -T fields -e frame.time 'dns.flags.response == 1'",
    },
    proxy: { type: 'proxy', collector_path: '/collect/proxy', supported_files: ['.log'], parser: 'bluecoat.py' },
  },
};

test("Spot's own example configuration is accepted as it is", () => {
  const c = parseConfig(spotExample, '/etc/spot/ingest_conf.json');
  assert.equal(c.store.kind, 'local');
  assert.deepEqual(c.kafka.brokers, [], 'empty kafka_server means the embedded queue');
  assert.equal(c.pipelines.dns_server_1!.pktNum, 650000, 'numeric strings are numbers');
  assert.deepEqual(c.pipelines.flow_internals!.supportedFiles, ['nfcapd.']);
  assert.equal(c.pipelines.flow_internals!.smallFileBytes, 0, 'embedded: every file goes by reference');
  const overKafka = parseConfig({ ...spotExample, kafka: { ...(spotExample as any).kafka, kafka_server: 'broker' } }, '/etc/spot/ingest_conf.json');
  assert.equal(overKafka.pipelines.flow_internals!.smallFileBytes, 900000, "over Kafka, Spot's small/large rule: kafka.message_size");
  assert.equal(c.statePath, '/tmp/spot-app/.spot-ingest');
  assert.ok(c.notices.some((n) => n.startsWith('spark-streaming:')));
  assert.ok(c.notices.some((n) => n.startsWith('kafka.zookeper_server:')));
  assert.ok(c.notices.some((n) => n.startsWith('pipelines.dns_server_1.pcap_split_staging:')));
});

test('every problem is reported with its key path and what was expected', () => {
  const bad = structuredClone(spotExample) as any;
  bad.collector_processes = 'many';
  bad.kafka.max_request_size = 10;
  bad.pipelines.flow_internals.type = 'netflow';
  bad.pipelines.proxy.colector_path = '/typo';
  delete bad.hdfs_app_path;
  assert.throws(() => parseConfig(bad, '/x/ingest_conf.json'), (err: any) => {
    assert.equal(err.code, 'CONFIG');
    assert.match(err.message, /collector_processes: expected an integer, got "many"/);
    assert.match(err.message, /kafka\.max_request_size: expected at least 1024, got 10/);
    assert.match(err.message, /pipelines\.flow_internals\.type: expected one of flow, dns, proxy, got "netflow"/);
    assert.match(err.message, /pipelines\.proxy\.colector_path: unknown key/);
    assert.match(err.message, /hdfs_app_path: required/);
    return true;
  });
});

test('a dissector must fit the pipeline type', () => {
  const c = structuredClone(spotExample) as any;
  c.pipelines.flow_internals.dissector = 'tshark';
  assert.throws(() => parseConfig(c, '/x.json'), /pipelines\.flow_internals\.dissector: expected one of native, nfdump for type flow/);
});

test('flow: native by default; a process_opt (nfdump options) keeps nfdump, and native with one is refused', () => {
  const c = structuredClone(spotExample) as any;
  assert.equal(parseConfig(c, '/x.json').pipelines.flow_internals!.dissector, 'native');
  c.pipelines.flow_internals.process_opt = 'proto tcp';
  const withOpt = parseConfig(c, '/x.json');
  assert.equal(withOpt.pipelines.flow_internals!.dissector, 'nfdump');
  assert.ok(withOpt.notices.some((n) => /flow_internals: process_opt is set, so flow files go through nfdump/.test(n)));
  c.pipelines.flow_internals.dissector = 'nfdump';
  assert.ok(!parseConfig(c, '/x.json').notices.some((n) => /process_opt is set/.test(n)));
  c.pipelines.flow_internals.dissector = 'native';
  assert.throws(() => parseConfig(c, '/x.json'), /flow_internals\.process_opt: options for nfdump need dissector "nfdump"/);
});

test('brokers: host list, host:port and the port default', () => {
  const c = structuredClone(spotExample) as any;
  c.kafka.kafka_server = 'k1, k2:9093';
  assert.deepEqual(parseConfig(c, '/x.json').kafka.brokers, ['k1:9092', 'k2:9093']);
  c.kafka.kafka_server = ['a', 'b:1'];
  assert.deepEqual(parseConfig(c, '/x.json').kafka.brokers, ['a:9092', 'b:1']);
});

test('an hdfs:// root selects the HDFS store and relative paths anchor at the config file', () => {
  const c = structuredClone(spotExample) as any;
  c.hdfs_app_path = 'hdfs://nn:8020/user/spot';
  c.pipelines.proxy.collector_path = 'incoming/proxy';
  const cfg = parseConfig(c, '/etc/spot/ingest_conf.json');
  assert.equal(cfg.store.kind, 'hdfs');
  assert.equal(cfg.store.kind === 'hdfs' && cfg.store.url, 'hdfs://nn:8020/user/spot');
  assert.equal(cfg.pipelines.proxy!.collectorPath, '/etc/spot/incoming/proxy');
});

test('the key reference lists every key of the spec', () => {
  const table = describeKeys().join('\n');
  for (const key of ['hdfs_app_path', 'kafka.max_request_size', 'pipelines.<name>.supported_files', 'pipelines.<name>.dissector']) {
    assert.ok(table.includes(`\`${key}\``), key);
  }
});

test("Spot's standalone file, Kafka keys blanked, loads: an empty optional key means not set", () => {
  const blanked = structuredClone(spotExample) as any;
  blanked.kafka = { kafka_server: '', kafka_port: '', zookeper_server: '', zookeper_port: '', message_size: '', max_request_size: ' ' };
  blanked.collector_processes = '';
  blanked.ingestion_interval = '';
  blanked.state_path = '';
  blanked.pipelines.dns_server_1.pkt_num = '';
  blanked.pipelines.dns_server_1.dissector = '';
  blanked.pipelines.flow_internals.local_staging = '';
  blanked.pipelines.flow_internals.supported_files = '';
  const c = parseConfig(blanked, '/etc/spot/ingest_conf.json');
  assert.deepEqual(c.kafka.brokers, []);
  assert.equal(c.kafka.messageSize, 900000);
  assert.equal(c.collectorProcesses, 1);
  assert.equal(c.pipelines.dns_server_1!.pktNum, 650000);
  assert.equal(c.pipelines.dns_server_1!.dissector, 'native');
  assert.deepEqual(c.pipelines.flow_internals!.supportedFiles, ['nfcapd.']);
  assert.equal(c.statePath, '/tmp/spot-app/.spot-ingest');
  assert.ok(!c.notices.some((n) => n.startsWith('kafka.zookeper')), 'a blank ignored key is not even a notice');
});

test('a non-empty non-number in a numeric key is still refused with its key path', () => {
  const bad = structuredClone(spotExample) as any;
  bad.kafka.kafka_port = 'ninety';
  bad.pipelines.dns_server_1.pkt_num = '65o000';
  assert.throws(() => parseConfig(bad, '/x.json'), (err: any) => {
    assert.match(err.message, /kafka\.kafka_port: expected an integer, got "ninety"/);
    assert.match(err.message, /pipelines\.dns_server_1\.pkt_num: expected an integer, got "65o000"/);
    return true;
  });
});

test('a required key given as an empty string is still refused', () => {
  const bad = structuredClone(spotExample) as any;
  bad.hdfs_app_path = '';
  bad.pipelines.proxy.collector_path = '';
  assert.throws(() => parseConfig(bad, '/x.json'), (err: any) => {
    assert.match(err.message, /hdfs_app_path: must not be empty/);
    assert.match(err.message, /pipelines\.proxy\.collector_path: must not be empty/);
    return true;
  });
});

test('process_opt that cannot be split and unreadable TLS files are refused when the config is loaded', () => {
  const bad = structuredClone(spotExample) as any;
  bad.pipelines.flow_internals.process_opt = "-o 'csv";
  bad.kafka.tls = { enabled: true, ca_file: '/nonexistent/ca.pem' };
  assert.throws(() => parseConfig(bad, '/x.json'), (err: any) => {
    assert.match(err.message, /pipelines\.flow_internals\.process_opt: .*unbalanced/i);
    assert.match(err.message, /kafka\.tls\.ca_file: cannot read \/nonexistent\/ca\.pem \(ENOENT\)/);
    return true;
  });
});
