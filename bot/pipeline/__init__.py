"""The message pipeline: channel-neutral messages, the dispatcher, the handler router and its context, dialogue state, identities, invites and group binding."""
