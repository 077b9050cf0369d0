"""Conversations: ChatService (validate -> store -> workflow -> store), its store, message validation and a customer's own data (export, delete, retention)."""
