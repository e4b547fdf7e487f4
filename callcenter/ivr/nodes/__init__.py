"""The node types a flow file can name, each registered under its type."""
