"""Put on PYTHONPATH while pip builds Theano 1.0.5 (make does this).

Theano 1.0.5 exists only as a source archive, and its versioneer.py, run by
its setup.py, calls configparser.SafeConfigParser() and parser.readfp(),
both removed in Python 3.12. Python imports this module at start-up and
puts the two old names back, as aliases of what replaced them; nothing else
changes, and nothing of it is installed.
"""
import configparser

if not hasattr(configparser, "SafeConfigParser"):
    configparser.SafeConfigParser = configparser.ConfigParser
if not hasattr(configparser.RawConfigParser, "readfp"):
    configparser.RawConfigParser.readfp = configparser.RawConfigParser.read_file
