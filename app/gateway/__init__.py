"""Intake across zones (queue mode, INTAKE_MODE=queue): the gateway of the internet zone
(``web``, ``store``), the consumer of the internal zone (``consumer``), the broker topology
they share (``broker``) and the dead-letter queue's reading and replay (``dead_letters``)."""
