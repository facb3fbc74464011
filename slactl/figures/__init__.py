"""The typed figures of a month: what the pipeline computes and render only formats.

``month`` holds a service's, a group's and the platform's month (minutes,
incidents with severity, verdicts, history); ``customer`` holds a customer's
month and credit; ``compute`` turns minute states into them with the pure
``sli``/``sla`` functions; ``doc`` lays them out as the report's JSON.
"""
