"""The discrete-event replay engine (SimPy) and its parts: waiting queues and the sharing
performance model. Only this package imports simpy."""
