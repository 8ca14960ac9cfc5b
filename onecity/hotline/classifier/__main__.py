import sys

from onecity.hotline.classifier.cli import main

sys.exit(main())
