"""Writes of the execution engine, one module per concern:

schedule   materialize and enqueue due executions (the minute tick), cancel scheduled ones, the computed schedule
plan       load a strategy's plan in a fixed number of queries and turn it into order intents (contract
           arithmetic: market.contracts)
risk       pre-trade checks per allocation
claims     claim executions (token + lease, renewed) and orders (PENDING -> SENT with a send token)
placement  run a batch: plan, write intents, place per account in parallel (executions_run, batch_run)
reconciliation  look orders of unknown outcome up at their broker by tag
results    store broker answers on orders and books; final status and per-leg results (executions_finish)
alerts     the one alert factory
books      fills into the placing strategy's own positions
"""
