"""The MQTT side: one paho client, a persistent session, a shared subscription, manual acks.

paho's network thread only hands each message to `deliver`; acknowledging is left to the
caller (`ack`), after the message's readings are committed. The broker sends at most
`max_inflight_messages` unacknowledged messages (MQTT 5 receive maximum), which bounds memory
while the database is away: the broker keeps the rest in the session.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from energywatch.dependencies import Dependency, broker_problem
from energywatch.protocol.topics import readings_subscription
from energywatch.settings import IngestSettings, MqttSettings
from services.ingest.batch import Delivery
from services.ingest.metrics import IngestMetrics

log = logging.getLogger(__name__)

# MQTT 5 DISCONNECT reason: another connection with this client id took the session.
SESSION_TAKEN_OVER = 142


@dataclass(frozen=True)
class Inbound:
    topic: str
    payload: bytes
    delivery: Delivery
    received: float  # time.time() when it arrived


class MqttConsumer:
    def __init__(
        self,
        mqtt_settings: MqttSettings,
        ingest: IngestSettings,
        deliver: Callable[[Inbound], None],
        metrics: IngestMetrics,
        broker: Dependency,
    ) -> None:
        self._mqtt = mqtt_settings
        self._broker = broker
        self._ingest = ingest
        self._deliver = deliver
        self._metrics = metrics
        self.subscription = readings_subscription(mqtt_settings.topic_prefix, ingest.share_group)
        # Packet ids are only meaningful on the connection they came on: every (re)connect
        # starts a new generation and acks of an older one are dropped (the broker resends).
        self._lock = threading.Lock()
        self._generation = 0
        self.subscribed = threading.Event()
        self._unsubscribed = threading.Event()
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=ingest.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if mqtt_settings.username:
            password = mqtt_settings.password.get_secret_value() if mqtt_settings.password else None
            client.username_pw_set(mqtt_settings.username, password)
        if mqtt_settings.tls:
            client.tls_set(ca_certs=str(mqtt_settings.ca_file) if mqtt_settings.ca_file else None)
        client.reconnect_delay_set(
            min_delay=max(1, math.floor(ingest.reconnect_min_s)),
            max_delay=max(1, math.ceil(ingest.reconnect_max_s)),
        )
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_unsubscribe = self._on_unsubscribe
        client.on_message = self._on_message
        self._client = client

    def start(self) -> None:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self._ingest.session_expiry_s
        props.ReceiveMaximum = self._ingest.max_inflight_messages
        self._client.connect_async(
            self._mqtt.host,
            self._mqtt.port,
            keepalive=self._mqtt.keepalive_s,
            clean_start=False,
            properties=props,
        )
        self._client.loop_start()

    def stop(self, end_session: bool) -> None:
        """Disconnect; `end_session` also ends the persistent session at the broker.

        A session left behind keeps its share of the shared subscription: the broker goes on
        queueing messages for it. So a worker that acknowledged everything it received ends its
        session; one that could not keeps it, and its unacknowledged messages wait for it.
        """
        with self._lock:
            self._generation += 1
        props = Properties(PacketTypes.DISCONNECT)
        if end_session:
            props.SessionExpiryInterval = 0
        self._client.disconnect(properties=props)
        deadline = time.monotonic() + 5
        while self._client.is_connected() and time.monotonic() < deadline:
            time.sleep(0.02)
        self._client.loop_stop()
        self._metrics.connected.set(0)

    def unsubscribe(self, timeout_s: float = 5.0) -> bool:
        """Ask the broker to stop sending; True once it confirmed."""
        self._unsubscribed.clear()
        result, _ = self._client.unsubscribe(self.subscription)
        if result != mqtt.MQTT_ERR_SUCCESS:
            return False
        return self._unsubscribed.wait(timeout_s)

    def ack(self, delivery: Delivery) -> bool:
        """Acknowledge one message; False if it came on an earlier connection."""
        with self._lock:
            if delivery.generation != self._generation:
                return False
            if delivery.qos > 0:
                self._client.ack(delivery.mid, delivery.qos)
            return True

    def publish(self, topic: str, payload: bytes) -> None:
        """QoS 1; paho keeps it while the connection is down and sends it on reconnect."""
        self._client.publish(topic, payload, qos=1)

    # --- paho callbacks (network thread) ---------------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            log.error("broker refused the connection: %s", reason)
            return
        with self._lock:
            self._generation += 1
        self._broker.up()
        log.info(
            "connected to %s:%s (session present: %s); subscribing to %s",
            self._mqtt.host,
            self._mqtt.port,
            flags.session_present,
            self.subscription,
        )
        client.subscribe(self.subscription, options=SubscribeOptions(qos=1))

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        # paho retries on its own, with its reconnect delay; the outage is logged once.
        self._broker.down(broker_problem(self._mqtt, "no connection"))

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, properties: Any
    ) -> None:
        if any(r.is_failure for r in reasons):
            log.error("subscription to %s refused: %s", self.subscription, reasons)
            return
        self._metrics.connected.set(1)
        self.subscribed.set()

    def _on_unsubscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, properties: Any
    ) -> None:
        self._metrics.connected.set(0)
        self._unsubscribed.set()

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        with self._lock:
            self._generation += 1
        self._metrics.connected.set(0)
        self.subscribed.clear()
        if getattr(reason, "value", None) == SESSION_TAKEN_OVER:
            # paho reconnects at once and takes the session back: two clients then keep
            # kicking each other, and each message is delivered to whichever holds it.
            self._metrics.session_takeovers.inc()
            log.error(
                "session taken over: another client connected to %s:%s with this worker's "
                "client id %r; give every worker and installation its own client id",
                self._mqtt.host,
                self._mqtt.port,
                self._ingest.client_id,
            )
            return
        log.warning("disconnected from the broker: %s", reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:
            topic = message._topic.decode("utf-8", errors="replace")
        delivery = Delivery(self._generation, message.mid, message.qos, len(message.payload))
        self._deliver(Inbound(topic, bytes(message.payload), delivery, time.time()))
