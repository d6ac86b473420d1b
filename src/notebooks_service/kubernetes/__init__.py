"""Production on Kubernetes: the Zero to JupyterHub values and the service's own objects, rendered from
the operator config, and the hub-side configuration the chart's hub runs (`hubconf`)."""
