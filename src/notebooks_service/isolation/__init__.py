"""One machine, many users: a system account, a sandbox and resource limits for every user server.

`notebooks up` started as root runs each hub user's servers as that user's own unprivileged account
(`accounts`), inside a bubblewrap sandbox that shows the server its own home, its own `/tmp` and its own
processes only (`sandbox`), in a cgroup that holds it to its profile's CPU and memory (`cgroups`).
Started as anyone else, the service is a single-person trial and servers run as the invoking user.
"""
