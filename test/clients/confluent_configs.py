"""librdkafka's admin client (confluent_kafka) altering and describing configs.

Usage: confluent_configs.py BOOTSTRAP TOPIC. Prints one JSON object: the described values
with their sources and synonyms, and the error names of refused changes.
"""
import json
import sys

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

bootstrap, topic = sys.argv[1], sys.argv[2]
admin = AdminClient({'bootstrap.servers': bootstrap})


def wait(futures):
    return {k: f.result(timeout=30) for k, f in futures.items()}


def entry(e):
    return {'value': e.value, 'source': int(e.source), 'synonyms': [[s.name, s.value, int(s.source)] for s in e.synonyms.values()]}


def refused(resource):
    try:
        wait(admin.alter_configs([resource]))
        return None
    except KafkaException as e:
        return e.args[0].name()


wait(admin.create_topics([NewTopic(topic, 1, 1)]))
wait(admin.alter_configs([ConfigResource(ConfigResource.Type.TOPIC, topic, set_config={'retention.ms': '3600000', 'segment.bytes': '1048576'})]))
wait(admin.alter_configs([ConfigResource(ConfigResource.Type.BROKER, '1', set_config={'log.retention.bytes': '5555'})]))
described = wait(admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, topic), ConfigResource(ConfigResource.Type.BROKER, '1')]))
out = {'topic': {}, 'broker': {}}
for resource, configs in described.items():
    side = 'topic' if resource.restype == ConfigResource.Type.TOPIC else 'broker'
    for name in (['retention.ms', 'segment.bytes', 'retention.bytes', 'segment.ms'] if side == 'topic' else ['log.retention.bytes', 'log.dirs']):
        out[side][name] = entry(configs[name])
out['badValue'] = refused(ConfigResource(ConfigResource.Type.TOPIC, topic, set_config={'retention.ms': 'later'}))
out['readOnly'] = refused(ConfigResource(ConfigResource.Type.BROKER, '1', set_config={'log.dirs': '/elsewhere'}))
print(json.dumps(out))
