"""The Qt desktop interface: windows, item models, delegates, dialogs and workers."""
