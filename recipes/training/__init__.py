"""Training: the one entry (train), the loops it dispatches to (fit, tape, scratch), their
shared configuration, data protocol and callbacks, and the device strategy. It reads its data
through `pipeline.DataSource`, so it imports no loader, reader or source."""
