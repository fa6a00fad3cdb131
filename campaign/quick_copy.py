"""Form fields and widgets that copy cheaply, for the sign form.

Django copies every field of a form, and each field's widget, for every form it
makes: BaseForm.__init__ deep-copies base_fields; Field.__deepcopy__ copies the
field with copy.copy(), then deep-copies its widget. For a plain object copy.copy()
goes the pickle protocol's long way round (__reduce_ex__, then rebuilding the
object from what it returned), and copy.deepcopy() looks up how to copy each
object before copying it. Copying the sign form's thirteen fields that way was a
tenth of a sign POST's CPU (bench/README.md). Here each class makes the same
objects directly: a new instance with the same attributes, then what Django's
own __deepcopy__ copies (widget attrs, error messages, validators), pinned
against Django's copies in tests/signing/test_sign_path.py.
"""

from django import forms


class QuickCopy:
    def __copy__(self):
        cls = type(self)
        new = cls.__new__(cls)
        new.__dict__.update(self.__dict__)
        return new


class QuickWidget(QuickCopy):
    def __deepcopy__(self, memo: dict):
        # Widget.__deepcopy__'s copies.
        new = self.__copy__()
        new.attrs = self.attrs.copy()
        memo[id(self)] = new
        return new


class QuickField(QuickCopy):
    def __deepcopy__(self, memo: dict):
        # Field.__deepcopy__'s copies; the widget's own __deepcopy__ at once.
        new = self.__copy__()
        memo[id(self)] = new
        new.widget = self.widget.__deepcopy__(memo)
        new.error_messages = self.error_messages.copy()
        new.validators = self.validators[:]
        return new


class _Fields(dict):
    def __deepcopy__(self, memo: dict) -> dict:
        return {name: field.__deepcopy__(memo) for name, field in self.items()}


def quick_fields(form_class: type[forms.Form]) -> type[forms.Form]:
    """Class decorator: each form's copy of base_fields calls every field's
    __deepcopy__ directly, not through copy.deepcopy()."""
    form_class.base_fields = _Fields(form_class.base_fields)
    return form_class


def _quick(cls: type, mixin: type, **attributes) -> type:
    """`cls` with `mixin`'s copies, under its own name (crispy-forms names CSS
    classes after the widget's class)."""
    return type(cls.__name__, (mixin, cls), {"__module__": __name__, **attributes})


TextInput = _quick(forms.TextInput, QuickWidget)
EmailInput = _quick(forms.EmailInput, QuickWidget)
Textarea = _quick(forms.Textarea, QuickWidget)
HiddenInput = _quick(forms.HiddenInput, QuickWidget)
CheckboxInput = _quick(forms.CheckboxInput, QuickWidget)

CharField = _quick(forms.CharField, QuickField, widget=TextInput)
EmailField = _quick(forms.EmailField, QuickField, widget=EmailInput)
BooleanField = _quick(forms.BooleanField, QuickField, widget=CheckboxInput)
