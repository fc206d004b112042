#!/usr/bin/env python3
"""demo-sensor: publishes a temperature reading on the instance's MQTT topic every few seconds.

Topic ``<namespace>/sensor-1/tags/temperature`` on the instance's broker; the payload
names the instance, so a subscriber can tell whose reading it got. Exits 0 on SIGTERM.
"""
from __future__ import annotations

import json
import math
import signal
import sys
import threading
import time

from democlients import Settings, ensure_clients

ensure_clients()

import paho.mqtt.client as mqtt  # noqa: E402 - after ensure_clients


def main() -> None:
    settings = Settings.from_env()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{settings.namespace}-sensor")
    client.connect_async(settings.host, settings.mqtt_port)
    client.loop_start()  # connects, and reconnects after a broker restart, in its own thread
    topic = settings.topic("sensor-1", "temperature")
    print(f"demo-sensor: instance {settings.instance} publishing on {topic} "
          f"(127.0.0.1:{settings.mqtt_port})", flush=True)
    seq = 0
    while not stop.wait(settings.sensor_interval):
        seq += 1
        value = round(21 + 2 * math.sin(seq / 5) + settings.instance / 10, 2)
        payload = json.dumps({"instance": settings.instance, "namespace": settings.namespace,
                              "seq": seq, "celsius": value, "at": time.time()})
        client.publish(topic, payload, qos=1)
    client.loop_stop()
    client.disconnect()
    sys.exit(0)


if __name__ == "__main__":
    main()
