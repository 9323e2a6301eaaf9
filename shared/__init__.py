"""Pure-stdlib code shared by the Shepherd add-on, the service and the runner inside Blender."""
