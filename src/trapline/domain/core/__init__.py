"""Core (rules): accounts, tokens, projects and who may do what in them; the records every
capability shares.
"""
