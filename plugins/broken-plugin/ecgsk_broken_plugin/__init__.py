"""Test fixture: importing this package always fails.

ecgsk must turn the error into a ``PluginWarning`` that names the distribution
(``ecgsk-broken-plugin``) and this message, and go on loading other plugins.
"""

raise ImportError("ecgsk-broken-plugin is broken on purpose (test fixture)")
