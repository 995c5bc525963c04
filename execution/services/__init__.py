"""Writes of the execution engine, one module per concern:

schedule   materialize and enqueue due executions (the minute tick), the computed schedule
contracts  expiry and strike resolution from the instrument master and the quote chain
plan       load a strategy's plan in a fixed number of queries and turn it into order intents
risk       pre-trade checks per allocation
placement  claim, place per account in parallel, reconcile, finish (run_batch, run_execution)
books      fills into the placing strategy's own positions
"""
